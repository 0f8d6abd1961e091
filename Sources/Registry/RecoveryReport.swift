/// What `ModelRegistry.recover()` cleaned up after interrupted uploads and removals.
public struct RecoveryReport: Sendable, Equatable {
    /// Abandoned upload temp files removed from `<model_root>/.uploads` (relative to the root).
    public var removedTemporaryFiles: [String] = []
    /// Weights files with no version row removed: uploads killed between the rename and the insert,
    /// and files of removed versions whose deletion was interrupted (relative to the root).
    public var removedOrphanFiles: [String] = []
    /// Versions whose weights file has vanished, now `failed` (as `name@version`).
    public var versionsMarkedMissing: [String] = []

    /// True when nothing needed cleaning.
    public var isEmpty: Bool { removedTemporaryFiles.isEmpty && removedOrphanFiles.isEmpty && versionsMarkedMissing.isEmpty }
}
