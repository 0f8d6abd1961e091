import Foundation

/// A model name with its metadata and every version.
public struct RegisteredModel: Sendable, Equatable {
    /// The model's name.
    public let name: String
    /// Free text for people.
    public let description: String
    /// Key-value labels (owner, task, dataset, …).
    public let labels: [String: String]
    /// True when the server loads the model at start.
    public let preload: Bool
    /// The version chosen with `setDefaultVersion`, `nil` when the latest version is the default.
    public let pinnedVersion: Int?
    /// When the name was first registered.
    public let createdAt: Date
    /// Every version, oldest first.
    public let versions: [ModelVersion]

    /// The version requests without an explicit version use: the pinned one, else the latest.
    public var defaultVersion: ModelVersion? {
        if let pinnedVersion { return versions.first { $0.version == pinnedVersion } }
        return versions.last
    }
}
