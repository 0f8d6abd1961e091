import Foundation

/// One registered version of a model: what it is, where its weights are, and its status.
public struct ModelVersion: Sendable, Equatable {
    /// The model's name.
    public let name: String
    /// The version number: 1, 2, … per name, never reused, even after a removal.
    public let version: Int
    /// The architecture the weights belong to (`resnet`, `vit`, `bert`, `mlp`, …).
    public let architecture: String
    /// The model configuration, a JSON object as text.
    public let configuration: String
    /// The weights file, relative to the model root.
    public let weightsPath: String
    /// The weights file's size in bytes.
    public let byteCount: Int64
    /// The weights file's SHA-256, 64 lowercase hex digits.
    public let sha256: String
    /// When the version was registered.
    public let createdAt: Date
    /// Where the version is in its lifecycle.
    public let status: ModelStatus
    /// The arithmetic the version computes in (float32 unless registered otherwise).
    public let precision: ModelPrecision
    /// True when the registry made the file (upload or copy) and deletes it with the version;
    /// false for a file registered by path, which stays the user's.
    public let ownsWeightsFile: Bool
}
