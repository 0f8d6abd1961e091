import HTTP
import Logging
import Synchronization
import Tensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The request workers: a bounded queue in front of dedicated worker threads (pthreads, never
/// Swift's cooperative pool), each with its own intra-op `ThreadPool` and its own replica of every
/// model it serves. Async handlers submit jobs and await them through continuations.
///
/// **Queue.** At most `queueCapacity` jobs wait; beyond that `submit` throws `queueFull` (429 with
/// `Retry-After`, estimated from the backlog and recent job times). A job whose deadline passes
/// while it waits is answered 504 by a sweeper thread; one whose client disconnects is removed at
/// once (`ClientDisconnection`); neither costs any compute. A worker checks both again when it
/// takes a job.
///
/// **Batching.** A worker that takes a feature job of a model whose policy batches collects the
/// queued jobs with the same model instance and input signature, waiting up to the policy's delay
/// (counted from the first job's arrival) for more, and runs them as one forward pass
/// (`FeatureBatch`). Token-pooled text jobs (embeddings) batch across sequence lengths, padded to
/// the longest, within a token budget (`takeTextJobs`).
///
/// **Control items.** `onEveryWorker` runs code on every worker before its next job (warm-up,
/// dropping replicas of a retired model, hook counts); they do not count against the queue.
///
/// **Background lane.** Long work that must not slow interactive requests (dataset extraction
/// jobs) runs on one more thread, `runInBackground`, one item at a time in submission order,
/// outside the queue and its capacity. That thread and its intra-op threads run at the nice value
/// `backgroundNice` (the kernel gives a nice-10 thread about a tenth of the CPU a nice-0 one gets
/// when both want it), and the work calls `waitUntilInteractiveIdle()` between its small steps, so
/// a step starts only when no interactive job is queued or running: an interactive request waits
/// at most for the step in progress, which the scheduler slows in its favour.
public final class WorkerPool: @unchecked Sendable {
    /// Sizes of the pool.
    public struct Settings: Sendable, Equatable {
        public var workers: Int
        /// Threads each worker's forward passes use.
        public var intraOpThreads: Int
        /// Jobs that may wait for a worker.
        public var queueCapacity: Int
        /// The nice value (0–19) of the background lane's threads.
        public var backgroundNice: Int

        public init(workers: Int, intraOpThreads: Int, queueCapacity: Int, backgroundNice: Int = 10) {
            self.workers = workers
            self.intraOpThreads = intraOpThreads
            self.queueCapacity = queueCapacity
            self.backgroundNice = backgroundNice
        }
    }

    /// Code run on a worker outside the queue.
    private struct ControlItem {
        let body: (WorkerContext) -> Void
    }

    public let settings: Settings
    private let metrics: ServiceMetrics?
    private let logger: Logger

    // Everything below is guarded by `lock`.
    private let lock = ConditionLock()
    private let workAvailable: ConditionLock.Condition
    private let sweeperWake: ConditionLock.Condition
    private let backgroundWork: ConditionLock.Condition
    /// Signalled when the queue is empty and no worker runs a job.
    private let interactiveIdle: ConditionLock.Condition
    private var backgroundQueue: [ControlItem] = []
    private var queue: [WorkerJob] = []
    private var inboxes: [[ControlItem]]
    private var running = 0
    private var stopping = false
    private var threads: [pthread_t] = []
    /// Recent seconds per forward pass (exponential average), for `Retry-After`.
    private var averageExecutionSeconds = 0.05
    /// Hooks each worker last reported to the active-hooks gauge.
    private var reportedHooks: [Int]

    private let executedJobs = Atomic<Int>(0)
    private let droppedJobs = Atomic<Int>(0)
    private let executions = Atomic<Int>(0)

    /// Starts `settings.workers` worker threads and the deadline sweeper.
    public init(settings: Settings, metrics: ServiceMetrics? = nil, logger: Logger = .disabled) {
        precondition(settings.workers >= 1 && settings.intraOpThreads >= 1 && settings.queueCapacity >= 1,
                     "WorkerPool: sizes must be positive: \(settings)")
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        workAvailable = lock.makeCondition()
        sweeperWake = lock.makeCondition()
        backgroundWork = lock.makeCondition()
        interactiveIdle = lock.makeCondition()
        inboxes = Array(repeating: [], count: settings.workers)
        reportedHooks = Array(repeating: 0, count: settings.workers)
        var started: [pthread_t] = []
        for index in 0..<settings.workers {
            started.append(DedicatedThread.spawn(name: "periscope-w\(index)") { [self] in workerLoop(index: index) })
        }
        started.append(DedicatedThread.spawn(name: "periscope-sweep") { [self] in sweeperLoop() })
        started.append(DedicatedThread.spawn(name: "periscope-bg") { [self] in backgroundLoop() })
        lock.withLock { threads = started }
    }

    // MARK: - Statistics

    /// Jobs that ran or are running (each request of a batch counts once); counted when they start,
    /// so a client that has its answer sees its job counted.
    public var executedJobCount: Int { executedJobs.load(ordering: .relaxed) }
    /// Jobs answered without running: deadline passed, client gone, model retired, shutdown.
    public var droppedJobCount: Int { droppedJobs.load(ordering: .relaxed) }
    /// Forward passes (and tasks) run or running: a batch counts once.
    public var executionCount: Int { executions.load(ordering: .relaxed) }
    /// Jobs waiting now.
    public var queueDepth: Int { lock.withLock { queue.count } }

    // MARK: - Submitting

    /// Runs `body` on a worker (with its context) and returns its result. Throws `queueFull`,
    /// `deadlineExceeded`, `clientDisconnected`, `shuttingDown`, or what `body` throws.
    public func run<Value: Sendable>(model: ServedModel? = nil, deadline: ContinuousClock.Instant = .now + .seconds(3600),
                                     timeoutMilliseconds: Int = 3_600_000, disconnection: ClientDisconnection? = nil,
                                     _ body: @escaping @Sendable (WorkerContext) throws -> Value) async throws -> Value {
        let value = try await submit(.task { context in try body(context) }, model: model, deadline: deadline,
                                     timeoutMilliseconds: timeoutMilliseconds, disconnection: disconnection)
        return value as! Value
    }

    /// Runs a feature job (possibly batched with compatible ones) and returns its features.
    public func extractFeatures(_ work: FeatureWork, deadline: ContinuousClock.Instant, timeoutMilliseconds: Int,
                                disconnection: ClientDisconnection?) async throws -> FeatureOutcome {
        let value = try await submit(.features(work), model: work.model, deadline: deadline,
                                     timeoutMilliseconds: timeoutMilliseconds, disconnection: disconnection)
        return value as! FeatureOutcome
    }

    private func submit(_ payload: WorkerJob.Payload, model: ServedModel?, deadline: ContinuousClock.Instant,
                        timeoutMilliseconds: Int, disconnection: ClientDisconnection?) async throws -> any Sendable {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            let job = WorkerJob(payload: payload, model: model, deadline: deadline, timeoutMilliseconds: timeoutMilliseconds,
                                disconnection: disconnection) { result in continuation.resume(with: result) }
            do {
                try enqueue(job)
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    private func enqueue(_ job: WorkerJob) throws {
        let depth: Int = try lock.withLock {
            if stopping { throw ServiceError.shuttingDown }
            if let model = job.model, model.isRetired {
                throw ServiceError.modelUnavailable(name: model.name, version: model.version, reason: "being unloaded")
            }
            guard queue.count < settings.queueCapacity else {
                let backlog = Double(queue.count + running) * averageExecutionSeconds / Double(settings.workers)
                throw ServiceError.queueFull(capacity: settings.queueCapacity, retryAfterSeconds: Int(min(60, max(1, backlog.rounded(.up)))))
            }
            queue.append(job)
            workAvailable.broadcast()
            sweeperWake.signal()
            return queue.count
        }
        metrics?.setQueueDepth(depth)
        // Runs at once if the client is already gone.
        job.disconnection?.onDisconnect { [weak self, weak job] in
            guard let self, let job else { return }
            self.cancel(job)
        }
    }

    /// Answers a queued job whose client disconnected, without running it.
    private func cancel(_ job: WorkerJob) {
        let removed: Bool = lock.withLock {
            guard let index = queue.firstIndex(where: { $0 === job }) else { return false }
            queue.remove(at: index)
            return true
        }
        if removed { drop(job, because: .clientDisconnected) }
    }

    private func drop(_ job: WorkerJob, because reason: ServiceError) {
        droppedJobs.add(1, ordering: .relaxed)
        metrics?.countDroppedJob(reason: reason.errorType)
        metrics?.setQueueDepth(queueDepth)
        job.complete(.failure(reason))
    }

    // MARK: - Control items

    /// Runs `body` on every worker, before its next job, and returns the results by worker index.
    public func onEveryWorker<Value: Sendable>(_ body: @escaping @Sendable (WorkerContext) throws -> Value) async throws -> [Value] {
        let collector = ResultCollector<Value>(count: settings.workers)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[Value], any Error>) in
            collector.setContinuation(continuation)
            let accepted: Bool = lock.withLock {
                guard !stopping else { return false }
                for index in 0..<settings.workers {
                    inboxes[index].append(ControlItem { context in
                        collector.set(index, Result { try body(context) })
                    })
                }
                workAvailable.broadcast()
                return true
            }
            if !accepted { collector.fail(ServiceError.shuttingDown) }
        }
    }

    /// Stops serving `model`: no new job for it is accepted, its queued jobs are answered with
    /// `error`, and every worker drops its replica once its current job is done.
    public func retire(_ model: ServedModel, answeringQueuedJobsWith error: ServiceError) async {
        let removed: [WorkerJob] = lock.withLock {
            model.markRetired()
            var removed: [WorkerJob] = []
            queue.removeAll { job in
                guard job.model === model else { return false }
                removed.append(job)
                return true
            }
            return removed
        }
        for job in removed { drop(job, because: error) }
        _ = try? await onEveryWorker { context in context.dropReplica(of: model) }
    }

    /// Hooks on every worker's replicas now (0 between jobs), by worker.
    public func hookCounts() async throws -> [Int] {
        try await onEveryWorker { context in context.hookCount }
    }

    // MARK: - Shutdown

    /// Answers queued jobs with 503, lets running jobs finish, stops the threads and waits for
    /// them. Idempotent.
    public func shutdown() {
        let (left, joining): ([WorkerJob], [pthread_t]) = lock.withLock {
            guard !stopping else { return ([], []) }
            stopping = true
            let left = queue
            queue = []
            workAvailable.broadcast()
            sweeperWake.broadcast()
            backgroundWork.broadcast()
            interactiveIdle.broadcast()
            defer { threads = [] }
            return (left, threads)
        }
        for job in left { drop(job, because: .shuttingDown) }
        for thread in joining { pthread_join(thread, nil) }
    }

    // MARK: - Workers

    private func workerLoop(index: Int) {
        let context = WorkerContext(index: index, threadPool: ThreadPool(threadCount: settings.intraOpThreads), logger: logger)
        lock.lock()
        while true {
            if !inboxes[index].isEmpty {
                let items = inboxes[index]
                inboxes[index] = []
                lock.unlock()
                for item in items { GradMode.withDisabled { ThreadPool.withCurrent(context.threadPool) { item.body(context) } } }
                reportHooks(of: context)
                lock.lock()
                continue
            }
            if queue.isEmpty {
                if stopping { break }
                lock.wait(workAvailable)
                continue
            }
            let jobs = takeJobs(worker: index)
            running += 1
            let depth = queue.count
            lock.unlock()
            metrics?.setQueueDepth(depth)
            execute(jobs, context: context)
            lock.lock()
            running -= 1
            if running == 0 && queue.isEmpty { interactiveIdle.broadcast() }
        }
        lock.unlock()
        context.threadPool.shutdown()
    }

    /// Takes the next job and, for a batching model, compatible queued ones (waiting up to the
    /// policy's delay for more). Called with the lock held; returns with it held.
    private func takeJobs(worker index: Int) -> [WorkerJob] {
        let leader = queue.removeFirst()
        if let work = leader.featureWork, let length = work.tokenBatching, work.model.allowsTextBatching {
            return takeTextJobs(leader: leader, work: work, length: length, worker: index)
        }
        guard let work = leader.featureWork, work.model.allowsBatching else { return [leader] }
        let policy = work.model.batching
        var batch = [leader]
        func collect() {
            var position = 0
            while position < queue.count && batch.count < policy.maxBatchSize {
                if let other = queue[position].featureWork, other.model === work.model, other.signature == work.signature {
                    batch.append(queue.remove(at: position))
                } else {
                    position += 1
                }
            }
        }
        collect()
        let until = leader.enqueuedAt + policy.maxDelay
        while batch.count < policy.maxBatchSize && !stopping && ContinuousClock.now < until && inboxes[index].isEmpty {
            lock.wait(workAvailable, until: until)
            collect()
        }
        return batch
    }

    /// Text batching: queued token-pooled text jobs of the leader's model, chosen so the padded batch
    /// (rows × longest length) stays within `max_batch_tokens` and at least `minimumTextBatchFill` of
    /// its tokens are the jobs' own (similar lengths go together), waiting up to the text delay.
    /// Called with the lock held; returns with it held.
    private func takeTextJobs(leader: WorkerJob, work: FeatureWork, length: Int, worker index: Int) -> [WorkerJob] {
        let policy = work.model.batching
        var batch = [leader]
        var rows = work.rows, longest = length, ownTokens = work.rows * length
        func collect() {
            var position = 0
            while position < queue.count && batch.count < BatchingPolicy.maxTextBatchRequests {
                if let other = queue[position].featureWork, other.model === work.model, other.signature == work.signature,
                   let otherLength = other.tokenBatching {
                    let newLongest = max(longest, otherLength), newRows = rows + other.rows
                    let newOwn = ownTokens + other.rows * otherLength
                    if newRows * newLongest <= policy.maxBatchTokens
                        && Double(newOwn) >= BatchingPolicy.minimumTextBatchFill * Double(newRows * newLongest) {
                        batch.append(queue.remove(at: position))
                        rows = newRows
                        longest = newLongest
                        ownTokens = newOwn
                        continue
                    }
                }
                position += 1
            }
        }
        collect()
        let until = leader.enqueuedAt + policy.textMaxDelay
        while batch.count < BatchingPolicy.maxTextBatchRequests && rows * longest < policy.maxBatchTokens && !stopping
            && ContinuousClock.now < until && inboxes[index].isEmpty {
            lock.wait(workAvailable, until: until)
            collect()
        }
        return batch
    }

    /// Runs a batch of jobs (or one task), answering each.
    private func execute(_ jobs: [WorkerJob], context: WorkerContext) {
        let started = ContinuousClock.now
        var live: [WorkerJob] = []
        for job in jobs {
            if let model = job.model, model.isRetired {
                drop(job, because: .modelUnavailable(name: model.name, version: model.version, reason: "being unloaded"))
            } else if let reason = job.reasonToDrop(now: started) {
                drop(job, because: reason)
            } else {
                live.append(job)
            }
        }
        guard let first = live.first else { return }
        let queueSeconds = live.map { Self.seconds(from: $0.enqueuedAt, to: started) }
        // Counted before running: `run` answers the clients, and a client that has its answer
        // must see its job counted (the counts lagged the answers; seen under AddressSanitizer).
        executedJobs.add(live.count, ordering: .relaxed)
        executions.add(1, ordering: .relaxed)
        // Serving never records autograd graphs (an attribution job turns recording on for itself).
        let computeSeconds = GradMode.withDisabled {
            ThreadPool.withCurrent(context.threadPool) { run(live, queueSeconds: queueSeconds, started: started, context: context) }
        }
        if let metrics {
            let model = first.model?.name ?? "-"
            for seconds in queueSeconds { metrics.observeQueueWait(model: model, seconds: seconds) }
            metrics.observeCompute(model: model, precision: first.model?.model.precision.rawValue ?? "-", seconds: computeSeconds, batchSize: live.count)
        }
        reportHooks(of: context)
        lock.withLock { averageExecutionSeconds = 0.8 * averageExecutionSeconds + 0.2 * computeSeconds }
    }

    /// Runs a task, or a batch of feature jobs, and answers each; returns the compute time.
    private func run(_ live: [WorkerJob], queueSeconds: [Double], started: ContinuousClock.Instant, context: WorkerContext) -> Double {
        let first = live[0]
        switch first.payload {
        case .task(let body):
            let result = Result<any Sendable, any Error> { try body(context) }
            let computeSeconds = Self.seconds(from: started, to: .now)
            if let model = first.model { context.verifyNoHooks(on: model) }
            first.complete(result)
            return computeSeconds
        case .features:
            let works = live.map { $0.featureWork! }
            let batch = FeatureBatch.run(works, queueSeconds: queueSeconds, context: context)
            works[0].model.statistics.recordExecution(
                rows: works.reduce(0) { $0 + $1.rows }, inputSeconds: 0, inferSeconds: batch.computeSeconds,
                outputSeconds: batch.outcomes.reduce(0) { $0 + ((try? $1.get().outputSeconds) ?? 0) })
            for (job, outcome) in zip(live, batch.outcomes) { job.complete(outcome.map { $0 as any Sendable }) }
            return batch.computeSeconds
        }
    }

    /// Moves the active-hooks gauge by the change in this worker's hook count (0 after every job).
    private func reportHooks(of context: WorkerContext) {
        guard let metrics else { return }
        let hooks = context.hookCount
        let delta = lock.withLock { () -> Int in
            defer { reportedHooks[context.index] = hooks }
            return hooks - reportedHooks[context.index]
        }
        if delta != 0 { metrics.addActiveHooks(delta) }
    }

    // MARK: - Background lane

    /// Runs `body` on the background thread, after the background work submitted before it, and
    /// returns its result. Throws `shuttingDown` when the pool stops before it starts.
    public func runInBackground<Value: Sendable>(_ body: @escaping @Sendable (WorkerContext) throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            let accepted: Bool = lock.withLock {
                guard !stopping else { return false }
                backgroundQueue.append(ControlItem { context in continuation.resume(with: Result { try body(context) }) })
                backgroundWork.signal()
                return true
            }
            if !accepted { continuation.resume(throwing: ServiceError.shuttingDown) }
        }
    }

    /// Blocks until no interactive job is queued or running, or `stop()` turns true; throws
    /// `shuttingDown` once the pool stops. Background work calls it before each step.
    public func waitUntilInteractiveIdle(unless stop: () -> Bool = { false }) throws {
        try lock.withLock {
            while !stopping && (running > 0 || !queue.isEmpty) && !stop() {
                // Bounded, so a broadcast missed between two checks costs 50 ms, never a hang.
                lock.wait(interactiveIdle, until: .now + .milliseconds(50))
            }
            if stopping { throw ServiceError.shuttingDown }
        }
    }

    private func backgroundLoop() {
        Self.lowerPriority(to: settings.backgroundNice, logger: logger)
        // Created after the priority change: its threads inherit the nice value.
        let context = WorkerContext(index: settings.workers, threadPool: ThreadPool(threadCount: settings.intraOpThreads), logger: logger)
        lock.lock()
        while true {
            if backgroundQueue.isEmpty {
                if stopping { break }
                lock.wait(backgroundWork)
                continue
            }
            let item = backgroundQueue.removeFirst()
            lock.unlock()
            GradMode.withDisabled { ThreadPool.withCurrent(context.threadPool) { item.body(context) } }
            lock.lock()
        }
        lock.unlock()
        context.threadPool.shutdown()
    }

    /// Sets the calling thread's nice value (Linux: per thread; threads it creates inherit it).
    private static func lowerPriority(to nice: Int, logger: Logger) {
        guard nice > 0 else { return }
        #if os(Linux)
        // `who` 0 is the calling thread: on Linux the nice value is per thread (the kernel's `current`).
        if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Int32(nice)) != 0 {
            logger.warning("cannot lower the background lane's priority", ["nice": .int(nice), "errno": .int(Int(errno))])
        }
        #endif
    }

    // MARK: - Deadlines

    /// Answers queued jobs whose deadline passed (504) or whose client left, without running them.
    private func sweeperLoop() {
        lock.lock()
        while !stopping {
            if queue.isEmpty {
                lock.wait(sweeperWake)
                continue
            }
            let now = ContinuousClock.now
            var expired: [(WorkerJob, ServiceError)] = []
            queue.removeAll { job in
                guard let reason = job.reasonToDrop(now: now) else { return false }
                expired.append((job, reason))
                return true
            }
            if !expired.isEmpty {
                lock.unlock()
                for (job, reason) in expired { drop(job, because: reason) }
                lock.lock()
                continue
            }
            // Wake at the earliest deadline, and now and then to notice disconnections missed.
            let earliest = queue.lazy.map(\.deadline).min() ?? now
            lock.wait(sweeperWake, until: min(earliest, now + .milliseconds(250)))
        }
        lock.unlock()
    }

    // MARK: - Time

    static func seconds(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) -> Double {
        let elapsed = end - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}

/// Gathers one result per worker and resumes a continuation when all are in (or at the first error).
private final class ResultCollector<Value: Sendable>: Sendable {
    private struct State {
        var results: [Value?]
        var remaining: Int
        var continuation: CheckedContinuation<[Value], any Error>?
        var finished = false
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
    }

    func setContinuation(_ continuation: CheckedContinuation<[Value], any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    func set(_ index: Int, _ result: Result<Value, any Error>) {
        let resume: (CheckedContinuation<[Value], any Error>, Result<[Value], any Error>)? = state.withLock { state in
            guard !state.finished, let continuation = state.continuation else { return nil }
            switch result {
            case .failure(let error):
                state.finished = true
                return (continuation, .failure(error))
            case .success(let value):
                state.results[index] = value
                state.remaining -= 1
                guard state.remaining == 0 else { return nil }
                state.finished = true
                return (continuation, .success(state.results.map { $0! }))
            }
        }
        if let (continuation, result) = resume { continuation.resume(with: result) }
    }

    func fail(_ error: any Error) {
        let continuation: CheckedContinuation<[Value], any Error>? = state.withLock { state in
            guard !state.finished else { return nil }
            state.finished = true
            return state.continuation
        }
        continuation?.resume(throwing: error)
    }
}
