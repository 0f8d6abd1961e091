/// What a dataset extraction run by the service tells its job, and how the job steers it.
/// (`periscope extract` runs without one.)
public protocol ExtractionMonitor: AnyObject {
    /// Called before each batch goes to the model; throws to stop the extraction there, which
    /// leaves the output directory resumable (the manifest lists only complete shards). The
    /// service's jobs wait in it while interactive requests want the workers.
    func willRunBatch() throws
    /// Called after items were counted (extracted or skipped).
    func didAdvance(_ progress: ExtractionProgress)
}
