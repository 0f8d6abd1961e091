import Dispatch
import Foundation
import HTTP
import Synchronization
import Tensors
import Testing
@testable import Service

/// The worker pool without HTTP: queue bound, deadlines, disconnections, control items, threads.
@Suite struct WorkerPoolTests {
    private func makePool(workers: Int = 1, intraOpThreads: Int = 1, queue: Int = 4) -> WorkerPool {
        WorkerPool(settings: .init(workers: workers, intraOpThreads: intraOpThreads, queueCapacity: queue))
    }

    @Test func runsJobsOnDedicatedThreadsWithTheirOwnIntraOpPoolAndNoGrad() async throws {
        let pool = makePool(workers: 2, intraOpThreads: 2)
        defer { pool.shutdown() }
        let facts = try await pool.run { context in
            (thread: Thread.isMainThread, poolThreads: ThreadPool.current.threadCount, isShared: ThreadPool.current === ThreadPool.shared,
             grad: GradMode.isEnabled, ownPool: ThreadPool.current === context.threadPool)
        }
        #expect(!facts.thread && facts.poolThreads == 2 && !facts.isShared && !facts.grad && facts.ownPool)
        // Control items reach every worker, each on its own thread.
        let threads = try await pool.onEveryWorker { context in (context.index, UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: UInt(pthread_self()))))) }
        #expect(threads.map(\.0) == [0, 1])
        #expect(threads[0].1 != threads[1].1)
    }

    @Test func aFullQueueIsRefusedWithRetryAfter() async throws {
        let pool = makePool(queue: 1)
        let gate = Gate()
        async let blocker: Void = pool.run { _ in gate.pass() }
        try await gate.waitUntilEntered()
        async let queued: Int = pool.run { _ in 7 }
        #expect(await eventually { pool.queueDepth == 1 })
        do {
            _ = try await pool.run { _ in 8 }
            Issue.record("a third job was accepted by a queue of 1 behind a busy worker")
        } catch let error as ServiceError {
            guard case .queueFull(let capacity, let seconds) = error else { Issue.record("unexpected \(error)"); throw error }
            #expect(capacity == 1 && seconds >= 1)
            #expect(error.status.code == 429 && error.headers["Retry-After"] == String(seconds))
        }
        gate.open()
        try await blocker
        #expect(try await queued == 7)
        pool.shutdown()
    }

    @Test func aDeadlineThatPassesInTheQueueIsAnswered504WithoutRunning() async throws {
        let pool = makePool()
        let gate = Gate()
        async let blocker: Void = pool.run { _ in gate.pass() }
        try await gate.waitUntilEntered()
        let ran = Flag()
        let submitted = ContinuousClock.now
        do {
            try await pool.run(deadline: .now + .milliseconds(50), timeoutMilliseconds: 50) { _ in ran.set() }
            Issue.record("the job ran past its deadline")
        } catch let error as ServiceError {
            #expect(error == .deadlineExceeded(milliseconds: 50))
            #expect(error.status.code == 504)
        }
        // Answered by the sweeper while the worker is still busy, not when it gets free.
        #expect(ContinuousClock.now - submitted < .seconds(10))
        #expect(gate.entered == 1)
        gate.open()
        try await blocker
        #expect(!ran.isSet)
        #expect(pool.executedJobCount == 1 && pool.droppedJobCount == 1)
        pool.shutdown()
    }

    @Test func aClientThatDisconnectsBeforeItsJobStartsCostsNoCompute() async throws {
        let pool = makePool()
        let gate = Gate()
        async let blocker: Void = pool.run { _ in gate.pass() }
        try await gate.waitUntilEntered()
        let disconnection = ClientDisconnection()
        let ran = Flag()
        let orphan = Task { try await pool.run(disconnection: disconnection) { _ in ran.set() } }
        #expect(await eventually { pool.queueDepth == 1 })
        disconnection.signal()
        await #expect(throws: ServiceError.clientDisconnected) { try await orphan.value }
        #expect(pool.queueDepth == 0)
        gate.open()
        try await blocker
        #expect(!ran.isSet)
        #expect(pool.executedJobCount == 1 && pool.droppedJobCount == 1)
        pool.shutdown()
    }

    @Test func aJobThatThrowsFailsAloneAndTheWorkerKeepsServing() async throws {
        struct Boom: Error {}
        let pool = makePool()
        defer { pool.shutdown() }
        await #expect(throws: Boom.self) { try await pool.run { _ -> Int in throw Boom() } }
        #expect(try await pool.run { _ in 42 } == 42)
    }

    @Test func shutdownAnswersQueuedJobsAndLetsTheRunningOneFinish() async throws {
        let pool = makePool(queue: 4)
        let gate = Gate()
        async let running: Int = pool.run { _ in
            gate.pass()
            return 1
        }
        try await gate.waitUntilEntered()
        let queued = Task { try await pool.run { _ in 2 } }
        #expect(await eventually { pool.queueDepth == 1 })
        // shutdown() joins the worker, which waits for the gate: open it from another thread first.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { gate.open() }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                pool.shutdown()
                continuation.resume()
            }
        }
        #expect(try await running == 1)
        await #expect(throws: ServiceError.shuttingDown) { try await queued.value }
        await #expect(throws: ServiceError.shuttingDown) { try await pool.run { _ in 3 } }
    }
    @Test func backgroundWorkRunsNicedInOrderAndWaitsWhileInteractiveJobsRun() async throws {
        let pool = makePool()
        defer { pool.shutdown() }
        #if os(Linux)
        // Its thread, and the intra-op threads it created, run at the configured nice value.
        let nice = try await pool.runInBackground { context in
            (getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0), context.threadPool !== ThreadPool.shared)
        }
        #expect(nice.0 == 10 && nice.1)
        #endif
        let gate = Gate()
        async let blocker: Void = pool.run { _ in gate.pass() }
        try await gate.waitUntilEntered()
        let order = Order()
        let firstStarted = Flag()
        let first = Task { try await pool.runInBackground { _ in
            firstStarted.set()
            try pool.waitUntilInteractiveIdle()
            order.append(1)
        } }
        // The second is submitted only once the first holds the background thread: two tasks
        // submitting at once may be queued in either order.
        #expect(await eventually { firstStarted.isSet })
        let second = Task { try await pool.runInBackground { _ in order.append(2) } }
        try await Task.sleep(for: .milliseconds(200))
        #expect(order.values.isEmpty, "background work ran while an interactive job was running")
        gate.open()
        try await blocker
        try await first.value
        try await second.value
        #expect(order.values == [1, 2])
        // Cancelled work stops waiting.
        let cancelled = Task { try await pool.runInBackground { _ in try pool.waitUntilInteractiveIdle(unless: { true }) } }
        try await cancelled.value
    }

    @Test func backgroundWorkWaitingForIdleStopsWhenThePoolShutsDown() async throws {
        let pool = makePool()
        let gate = Gate()
        async let blocker: Void = pool.run { _ in gate.pass() }
        try await gate.waitUntilEntered()
        let waiting = Task { try await pool.runInBackground { _ in try pool.waitUntilInteractiveIdle() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { gate.open() }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                pool.shutdown()
                continuation.resume()
            }
        }
        try await blocker
        // Either the job ended before shutdown began (then the wait passed) or shutdown stopped the wait.
        do {
            try await waiting.value
        } catch let error as ServiceError {
            #expect(error == .shuttingDown)
        }
        await #expect(throws: ServiceError.shuttingDown) { try await pool.runInBackground { _ in 1 } }
    }
}

/// Values appended from several threads, in order.
private final class Order: Sendable {
    private let storage = Mutex<[Int]>([])
    func append(_ value: Int) { storage.withLock { $0.append(value) } }
    var values: [Int] { storage.withLock { $0 } }
}
