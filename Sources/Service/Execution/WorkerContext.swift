import Logging
import Models
import Tensors

/// What one worker thread owns: its intra-op thread pool and its replica of every model it has
/// served. Never shared: jobs receive it on the worker's thread and must not keep it.
///
/// Replicas are keyed by the `ServedModel` instance (held here, so its identity cannot be reused
/// while the replica lives): a model that is unloaded and loaded again is a new instance with new
/// replicas, never a stale one.
public final class WorkerContext {
    /// The worker's number, 0 ..< workers.
    public let index: Int
    /// The pool kernels use while this worker runs a job (`ThreadPool.current`).
    public let threadPool: ThreadPool
    private let logger: Logger
    private var replicas: [ObjectIdentifier: (model: ServedModel, replica: InferenceModel)] = [:]

    init(index: Int, threadPool: ThreadPool, logger: Logger) {
        self.index = index
        self.threadPool = threadPool
        self.logger = logger
    }

    /// This worker's replica of `model`, built on first use (on this thread, as
    /// `LoadedModel.makeReplica()` requires). Weights and packed weights are shared with the other
    /// workers' replicas.
    public func replica(for model: ServedModel) throws -> InferenceModel {
        let key = ObjectIdentifier(model)
        if let entry = replicas[key] { return entry.replica }
        let replica = try model.model.makeReplica()
        replicas[key] = (model, replica)
        return replica
    }

    /// Whether this worker holds a replica of `model`.
    public func hasReplica(of model: ServedModel) -> Bool { replicas[ObjectIdentifier(model)] != nil }

    /// Frees this worker's replica of `model`, if any.
    func dropReplica(of model: ServedModel) {
        replicas[ObjectIdentifier(model)] = nil
    }

    /// Replicas held.
    public var replicaCount: Int { replicas.count }

    /// Hooks registered on all of this worker's replicas (0 between jobs).
    public var hookCount: Int { replicas.values.reduce(0) { $0 + $1.replica.module.hookCount } }

    /// Checks that the replica of `model` has no hooks left after a job. A replica with hooks (a
    /// capture that failed to clean up: a bug) is logged and dropped, so the next job gets a clean
    /// one instead of another request's hooks. Returns the hooks found.
    @discardableResult
    func verifyNoHooks(on model: ServedModel) -> Int {
        guard let entry = replicas[ObjectIdentifier(model)] else { return 0 }
        let count = entry.replica.module.hookCount
        if count != 0 {
            assertionFailure("\(model.displayName): \(count) hooks left on worker \(index)'s replica after a job")
            logger.error("hooks left on a replica after a job; replica dropped",
                         ["model": .string(model.displayName), "worker": .int(index), "hooks": .int(count)])
            replicas[ObjectIdentifier(model)] = nil
        }
        return count
    }
}
