import Foundation
import Logging
import Registry
import Synchronization

/// A job of this process that is queued or running: its record as it changes, its cancellation
/// flag, and the monitor its extraction reports to. Progress reaches the registry at most once a
/// second (and at every change of state); `GET /v1/jobs/{id}` reads the live copy.
final class JobRun: ExtractionMonitor, Sendable {
    /// Thrown out of the extraction when the job is cancelled.
    struct Cancelled: Error {}

    let specification: JobSpecification
    /// The output directory, resolved when the job was accepted (to refuse a second job on it).
    let outputPath: String
    private let state: Mutex<State>
    private let cancelFlag = Atomic<Bool>(false)
    private let registry: ModelRegistry
    private let pool: WorkerPool
    private let metrics: ServiceMetrics
    private let logger: Logger

    private struct State {
        var record: JobRecord
        var itemsPerSecond = 0.0
        var lastSaved = ContinuousClock.now
    }

    /// How often progress is written to the registry.
    static let saveInterval = Duration.seconds(1)

    init(record: JobRecord, specification: JobSpecification, outputPath: String, registry: ModelRegistry, pool: WorkerPool,
         metrics: ServiceMetrics, logger: Logger) {
        self.specification = specification
        self.outputPath = outputPath
        self.registry = registry
        self.pool = pool
        self.metrics = metrics
        self.logger = logger
        state = Mutex(State(record: record))
        if record.cancelRequested { cancelFlag.store(true, ordering: .releasing) }
    }

    var id: String { state.withLock { $0.record.id } }
    var record: JobRecord { state.withLock { $0.record } }
    /// Items per second of the current run (0 before it starts).
    var itemsPerSecond: Double { state.withLock { $0.itemsPerSecond } }
    var isCancelled: Bool { cancelFlag.load(ordering: .acquiring) }

    /// What `cancel` did.
    enum CancelOutcome: Equatable {
        /// The job had not started: it is cancelled now.
        case ended
        /// The job runs: it stops at its next batch.
        case requested
        /// The job had ended already (it stays as it ended).
        case alreadyEnded(JobState)
    }

    /// Asks the job to stop (at its next batch) and records the request; a job that has not
    /// started is cancelled at once. A job whose final state is already set (it ended while still
    /// in the manager's table) is left alone, in the same step as the check.
    func cancel() -> CancelOutcome {
        var outcome = CancelOutcome.requested
        let record: JobRecord? = state.withLock { state in
            if state.record.state.isFinal {
                outcome = .alreadyEnded(state.record.state)
                return nil
            }
            cancelFlag.store(true, ordering: .releasing)
            state.record.cancelRequested = true
            if state.record.state == .queued {
                JobRun.end(&state.record, .cancelled, error: "cancelled before it started")
                outcome = .ended
            }
            state.lastSaved = .now
            return state.record
        }
        if let record { save(record) }
        return outcome
    }

    /// Marks the job running, unless it was cancelled before it started (then returns false).
    func start() -> Bool {
        var started = false
        update { record in
            guard record.state == .queued || record.state == .running, !isCancelled else { return }
            record.state = .running
            record.startedAt = record.startedAt ?? Date()
            started = true
        }
        return started
    }

    /// Sets a final state.
    static func end(_ record: inout JobRecord, _ state: JobState, error: String?) {
        record.state = state
        record.error = error
        record.finishedAt = Date()
    }

    /// Changes the record and saves it (a failure to save is logged: the job goes on).
    func update(_ change: (inout JobRecord) -> Void) {
        let record: JobRecord = state.withLock { state in
            change(&state.record)
            state.lastSaved = .now
            return state.record
        }
        save(record)
    }

    private func save(_ record: JobRecord) {
        do {
            try registry.updateJob(record)
        } catch {
            logger.error("cannot record the job's state", ["job": .string(record.id), "error": .string("\(error)")])
        }
    }

    // MARK: - ExtractionMonitor

    func willRunBatch() throws {
        if isCancelled { throw Cancelled() }
        try pool.waitUntilInteractiveIdle(unless: { self.isCancelled })
        if isCancelled { throw Cancelled() }
    }

    func didAdvance(_ progress: ExtractionProgress) {
        let (record, counted, due): (JobRecord, Int, Bool) = state.withLock { state in
            let counted = progress.done - state.record.itemsDone
            state.record.itemsDone = progress.done
            state.record.itemsTotal = progress.total
            state.record.errors = progress.errors
            state.itemsPerSecond = progress.itemsPerSecond
            let due = ContinuousClock.now - state.lastSaved >= Self.saveInterval
            if due { state.lastSaved = .now }
            return (state.record, counted, due)
        }
        metrics.countExtractionItems(counted)
        if due { save(record) }
    }
}
