/// A version whose weights file passed the load checks: inside the model root, a regular file,
/// the registered size and SHA-256.
public struct VerifiedWeights: Sendable, Equatable {
    /// The version, as registered.
    public let version: ModelVersion
    /// The weights file, absolute with symlinks resolved — the path to read the weights from.
    public let absolutePath: String
    /// The file as it was when its SHA-256 was checked: a load that finds another identity after
    /// reading it has read something unverified, and a loaded version whose file changes is
    /// marked failed (`ModelManager.checkWeightFiles`).
    public let identity: FileIdentity
}
