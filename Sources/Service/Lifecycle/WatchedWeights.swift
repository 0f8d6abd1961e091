import Registry

/// The weights file a ready version was loaded from, as it was when its SHA-256 was verified.
/// The loaded model does not read the file again (its weights are in memory), but a file that
/// changes under it no longer holds what is served: `ModelManager.checkWeightFiles` compares
/// the file with this identity and marks the version failed when it differs.
struct WatchedWeights: Sendable, Equatable {
    /// As registered (relative to the model root), for messages.
    let storedPath: String
    /// Absolute, symlinks resolved: the file that was read.
    let absolutePath: String
    let identity: FileIdentity

    init(_ verified: VerifiedWeights) {
        storedPath = verified.version.weightsPath
        absolutePath = verified.absolutePath
        identity = verified.identity
    }

    /// Why the file on disk is no longer the verified one (deleted, replaced, resized, rewritten); nil while it is.
    func change() -> String? {
        identity.change(to: FileIdentity.of(path: absolutePath))
    }
}

/// The weights file changed between its verification and the end of the load: what was read is
/// not what was verified.
struct WeightsChangedWhileLoading: Error, CustomStringConvertible {
    let path: String
    let change: String

    var description: String { "weights file \(path) changed while the model was loading (\(change)); load it again once the file is final" }
}
