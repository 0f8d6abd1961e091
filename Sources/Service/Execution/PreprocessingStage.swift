import HTTP
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The bounded stage a request's CPU work before inference runs in: parsing its JSON (or V2
/// binary) body, decoding and resizing images, tokenizing texts. The work runs on the stage's own
/// threads, so the HTTP handler threads only await it and stay free for other connections (a
/// burst of large images used to hold every one of them).
///
/// **Bounds.** At most `threads` requests are pre-processed at once and at most `queueCapacity`
/// wait for a thread; beyond that `run` throws `preprocessingFull` (429 with `Retry-After`,
/// estimated from the backlog and recent pre-processing times), as the worker pool's queue does.
/// A waiting request whose client disconnects leaves the queue at once; one whose deadline has
/// passed or whose client has gone when a thread takes it is answered without running. Work that
/// runs is not interrupted: its thread is free again as soon as it returns or throws.
public final class PreprocessingStage: @unchecked Sendable {
    /// Sizes of the stage.
    public struct Settings: Sendable, Equatable {
        /// Requests pre-processed at once, one thread each.
        public var threads: Int
        /// Requests that may wait for a thread (0: none wait).
        public var queueCapacity: Int

        public init(threads: Int, queueCapacity: Int) {
            self.threads = threads
            self.queueCapacity = queueCapacity
        }
    }

    /// A request's work waiting for a thread, and the two ways to answer it.
    private final class Entry: Sendable {
        let deadline: RequestDeadline?
        let disconnection: ClientDisconnection?
        let enqueuedAt = ContinuousClock.now
        /// Runs the work and returns how long it took and what answers the request with its result
        /// (called once the thread is free again, so a client that has its answer sees it free).
        let perform: @Sendable () -> (seconds: Double, answer: @Sendable () -> Void)
        /// Answers the request with `error` without running the work.
        let refuse: @Sendable (ServiceError) -> Void

        init(deadline: RequestDeadline?, disconnection: ClientDisconnection?,
             perform: @escaping @Sendable () -> (seconds: Double, answer: @Sendable () -> Void),
             refuse: @escaping @Sendable (ServiceError) -> Void) {
            self.deadline = deadline
            self.disconnection = disconnection
            self.perform = perform
            self.refuse = refuse
        }

        /// Why the work must not run now, if it must not: its deadline passed or its client left.
        func reasonToDrop(now: ContinuousClock.Instant) -> ServiceError? {
            if let deadline, now >= deadline.instant { return .deadlineExceeded(milliseconds: deadline.milliseconds) }
            if disconnection?.hasDisconnected == true { return .clientDisconnected }
            return nil
        }
    }

    public let settings: Settings
    private let metrics: ServiceMetrics?

    // Everything below is guarded by `lock`; the gauges are set under it too, so they never lag.
    private let lock = ConditionLock()
    private let workAvailable: ConditionLock.Condition
    private var queue: [Entry] = []
    private var running = 0
    private var stopping = false
    private var threads: [pthread_t] = []
    /// Recent seconds per pre-processing (exponential average), for `Retry-After`.
    private var averageSeconds = 0.01

    /// Starts `settings.threads` threads.
    public init(settings: Settings, metrics: ServiceMetrics? = nil) {
        precondition(settings.threads >= 1 && settings.queueCapacity >= 0, "PreprocessingStage: bad sizes \(settings)")
        self.settings = settings
        self.metrics = metrics
        workAvailable = lock.makeCondition()
        var started: [pthread_t] = []
        for index in 0..<settings.threads {
            started.append(DedicatedThread.spawn(name: "periscope-prep\(index)") { [self] in threadLoop() })
        }
        lock.withLock { threads = started }
    }

    /// Requests waiting for a thread now.
    public var queueDepth: Int { lock.withLock { queue.count } }
    /// Requests being pre-processed now.
    public var inFlight: Int { lock.withLock { running } }

    // MARK: - Running

    /// Runs `body` on a stage thread and returns its result and the seconds it ran. Throws
    /// `preprocessingFull`, `deadlineExceeded`, `clientDisconnected`, `shuttingDown`, or what
    /// `body` throws.
    func run<Value: Sendable>(deadline: RequestDeadline?, disconnection: ClientDisconnection?,
                              _ body: @escaping @Sendable () throws -> Value) async throws -> (value: Value, seconds: Double) {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(value: Value, seconds: Double), any Error>) in
            let entry = Entry(deadline: deadline, disconnection: disconnection, perform: {
                let started = ContinuousClock.now
                let result = Result { try body() }
                let seconds = WorkerPool.seconds(from: started, to: .now)
                return (seconds, { continuation.resume(with: result.map { ($0, seconds) }) })
            }, refuse: { error in continuation.resume(throwing: error) })
            do {
                try enqueue(entry)
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    private func enqueue(_ entry: Entry) throws {
        try lock.withLock {
            if stopping { throw ServiceError.shuttingDown }
            guard running + queue.count < settings.threads + settings.queueCapacity else {
                let backlog = Double(queue.count + running) * averageSeconds / Double(settings.threads)
                let error = ServiceError.preprocessingFull(capacity: settings.queueCapacity, threads: settings.threads,
                                                           retryAfterSeconds: Int(min(60, max(1, backlog.rounded(.up)))))
                metrics?.countPreprocessingRejection(reason: error.errorType)
                throw error
            }
            queue.append(entry)
            metrics?.setPreprocessingQueueDepth(queue.count)
            workAvailable.signal()
        }
        // Runs at once if the client is already gone.
        entry.disconnection?.onDisconnect { [weak self, weak entry] in
            guard let self, let entry else { return }
            self.remove(entry, because: .clientDisconnected)
        }
    }

    /// Answers a waiting entry with `reason`, unless a thread has taken it.
    private func remove(_ entry: Entry, because reason: ServiceError) {
        let removed: Bool = lock.withLock {
            guard let index = queue.firstIndex(where: { $0 === entry }) else { return false }
            queue.remove(at: index)
            metrics?.setPreprocessingQueueDepth(queue.count)
            return true
        }
        if removed { refuse(entry, because: reason) }
    }

    private func refuse(_ entry: Entry, because reason: ServiceError) {
        metrics?.countPreprocessingRejection(reason: reason.errorType)
        entry.refuse(reason)
    }

    // MARK: - Threads

    private func threadLoop() {
        lock.lock()
        while true {
            guard !queue.isEmpty else {
                if stopping { break }
                lock.wait(workAvailable)
                continue
            }
            let entry = queue.removeFirst()
            metrics?.setPreprocessingQueueDepth(queue.count)
            let now = ContinuousClock.now
            if let reason = entry.reasonToDrop(now: now) {
                lock.unlock()
                refuse(entry, because: reason)
                lock.lock()
                continue
            }
            running += 1
            metrics?.setPreprocessingInFlight(running)
            lock.unlock()
            metrics?.observePreprocessingWait(seconds: WorkerPool.seconds(from: entry.enqueuedAt, to: now))
            let (seconds, answer) = entry.perform()
            metrics?.observePreprocessing(seconds: seconds)
            lock.lock()
            running -= 1
            metrics?.setPreprocessingInFlight(running)
            averageSeconds = 0.8 * averageSeconds + 0.2 * seconds
            lock.unlock()
            answer()
            lock.lock()
        }
        lock.unlock()
    }

    // MARK: - Shutdown

    /// Answers waiting requests with 503, lets running work finish, stops the threads and waits
    /// for them. Idempotent.
    public func shutdown() {
        let (left, joining): ([Entry], [pthread_t]) = lock.withLock {
            guard !stopping else { return ([], []) }
            stopping = true
            defer {
                queue = []
                threads = []
                metrics?.setPreprocessingQueueDepth(0)
            }
            workAvailable.broadcast()
            return (queue, threads)
        }
        for entry in left { refuse(entry, because: .shuttingDown) }
        for thread in joining { pthread_join(thread, nil) }
    }
}
