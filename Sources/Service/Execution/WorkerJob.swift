import HTTP
import Synchronization

/// One entry of the worker pool's queue: the work, the model it needs, its deadline, its client,
/// and the completion that answers the waiting request.
///
/// Whoever takes a job out of the queue — a worker, the deadline sweeper, a disconnection, a model
/// being retired, shutdown — completes it, exactly once.
final class WorkerJob: Sendable {
    enum Payload: Sendable {
        /// Feature extraction: batchable with compatible jobs.
        case features(FeatureWork)
        /// Any code to run on a worker with its context (layer traces, warm-up).
        case task(@Sendable (WorkerContext) throws -> any Sendable)
    }

    let payload: Payload
    /// The model the job runs (nil for a task that needs none).
    let model: ServedModel?
    let deadline: ContinuousClock.Instant
    /// The deadline as the client set it, for the 504 message.
    let timeoutMilliseconds: Int
    let disconnection: ClientDisconnection?
    let enqueuedAt: ContinuousClock.Instant
    private let completion: @Sendable (Result<any Sendable, any Error>) -> Void
    private let completed = Atomic<Bool>(false)

    init(payload: Payload, model: ServedModel?, deadline: ContinuousClock.Instant, timeoutMilliseconds: Int,
         disconnection: ClientDisconnection?, completion: @escaping @Sendable (Result<any Sendable, any Error>) -> Void) {
        self.payload = payload
        self.model = model
        self.deadline = deadline
        self.timeoutMilliseconds = timeoutMilliseconds
        self.disconnection = disconnection
        self.enqueuedAt = .now
        self.completion = completion
    }

    /// The feature work, when this is a feature job.
    var featureWork: FeatureWork? {
        if case .features(let work) = payload { return work }
        return nil
    }

    /// Answers the waiting request. A second call is a programming error.
    func complete(_ result: Result<any Sendable, any Error>) {
        let wasCompleted = completed.exchange(true, ordering: .acquiringAndReleasing)
        precondition(!wasCompleted, "a worker job was completed twice")
        completion(result)
    }

    /// Why the job must not run now, if it must not: its deadline passed or its client left.
    func reasonToDrop(now: ContinuousClock.Instant) -> ServiceError? {
        if now >= deadline { return .deadlineExceeded(milliseconds: timeoutMilliseconds) }
        if disconnection?.hasDisconnected == true { return .clientDisconnected }
        return nil
    }
}
