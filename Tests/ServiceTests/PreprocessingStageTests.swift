import Foundation
import HTTP
import Testing
@testable import Service

/// The pre-processing stage: its bounds, the 429 it answers, disconnections, deadlines, failures,
/// shutdown and its metrics.
@Suite struct PreprocessingStageTests {
    private static func sample(_ metrics: ServiceMetrics, _ name: String, _ labels: [String: String] = [:]) throws -> Double? {
        try ExpositionParser.parse(metrics.exposition()).samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// A thread of `stage` held by `gate` until the gate opens.
    private static func hold(_ stage: PreprocessingStage, with gate: Gate) async throws -> Task<Void, any Error> {
        let entered = gate.entered
        let blocker = Task { _ = try await stage.run(deadline: nil, disconnection: nil) { gate.pass() } }
        try await gate.waitUntilEntered(entered + 1)
        return blocker
    }

    @Test func runsWorkOnItsOwnThreadAndReturnsItsResultAndTime() async throws {
        let stage = PreprocessingStage(settings: .init(threads: 2, queueCapacity: 4))
        defer { stage.shutdown() }
        let (isMainThread, seconds) = try await stage.run(deadline: nil, disconnection: nil) { Thread.isMainThread }
        #expect(!isMainThread && seconds >= 0)
        await #expect(throws: RequestError.self) {
            _ = try await stage.run(deadline: nil, disconnection: nil) { () throws -> Int in throw RequestError(field: "$", "bad") }
        }
    }

    /// Every thread busy and the queue full: 429 naming the stage, with Retry-After, counted; the
    /// waiting request runs once a thread is free.
    @Test func aFullStageRefusesWith429AndRetryAfter() async throws {
        let metrics = ServiceMetrics(includeProcessMetrics: false)
        let stage = PreprocessingStage(settings: .init(threads: 1, queueCapacity: 1), metrics: metrics)
        let gate = Gate()
        defer {
            gate.open()
            stage.shutdown()
        }
        let blocker = try await Self.hold(stage, with: gate)
        let waiting = Task { try await stage.run(deadline: nil, disconnection: nil) { 7 } }
        #expect(await eventually { stage.queueDepth == 1 })
        do {
            _ = try await stage.run(deadline: nil, disconnection: nil) { 8 }
            Issue.record("a third request was accepted by one busy thread and a queue of 1")
        } catch let error as ServiceError {
            guard case .preprocessingFull(let capacity, let threads, let seconds) = error else { throw error }
            #expect(capacity == 1 && threads == 1 && (1...60).contains(seconds))
            #expect(error.status.code == 429 && error.errorType == "preprocessing_full" && error.headers["Retry-After"] == String(seconds))
            #expect(error.message.contains("pre-processing stage is full"), "\(error.message)")
        }
        #expect(try Self.sample(metrics, "periscope_preprocessing_in_flight") == 1)
        #expect(try Self.sample(metrics, "periscope_preprocessing_queue_depth") == 1)
        #expect(try Self.sample(metrics, "periscope_preprocessing_rejected_total", ["reason": "preprocessing_full"]) == 1)

        gate.open()
        try await blocker.value
        #expect(try await waiting.value.value == 7)
        #expect(stage.inFlight == 0 && stage.queueDepth == 0)
        #expect(try Self.sample(metrics, "periscope_preprocessing_in_flight") == 0)
        #expect(try Self.sample(metrics, "periscope_preprocessing_queue_depth") == 0)
        #expect(try Self.sample(metrics, "periscope_preprocessing_seconds_count") == 2)
        #expect(try Self.sample(metrics, "periscope_preprocessing_wait_seconds_count") == 2)
    }

    @Test func aQueueOfZeroRefusesWheneverEveryThreadIsBusy() async throws {
        let stage = PreprocessingStage(settings: .init(threads: 1, queueCapacity: 0))
        let gate = Gate()
        defer {
            gate.open()
            stage.shutdown()
        }
        let blocker = try await Self.hold(stage, with: gate)
        await #expect(throws: ServiceError.preprocessingFull(capacity: 0, threads: 1, retryAfterSeconds: 1)) {
            _ = try await stage.run(deadline: nil, disconnection: nil) { 1 }
        }
        gate.open()
        try await blocker.value
        #expect(try await stage.run(deadline: nil, disconnection: nil) { 2 }.value == 2)
    }

    /// A waiting request whose client hangs up leaves at once, without running, and its place is
    /// free for the next request.
    @Test func aWaitingRequestWhoseClientLeavesFreesItsPlace() async throws {
        let metrics = ServiceMetrics(includeProcessMetrics: false)
        let stage = PreprocessingStage(settings: .init(threads: 1, queueCapacity: 1), metrics: metrics)
        let gate = Gate()
        defer {
            gate.open()
            stage.shutdown()
        }
        let blocker = try await Self.hold(stage, with: gate)
        let disconnection = ClientDisconnection()
        let ran = Flag()
        let leaving = Task { try await stage.run(deadline: nil, disconnection: disconnection) { ran.set() } }
        #expect(await eventually { stage.queueDepth == 1 })
        disconnection.signal()
        await #expect(throws: ServiceError.clientDisconnected) { try await leaving.value }
        #expect(stage.queueDepth == 0)
        let next = Task { try await stage.run(deadline: nil, disconnection: nil) { 3 } }
        #expect(await eventually { stage.queueDepth == 1 })
        gate.open()
        try await blocker.value
        #expect(try await next.value.value == 3)
        #expect(!ran.isSet)
        #expect(try Self.sample(metrics, "periscope_preprocessing_rejected_total", ["reason": "client_disconnected"]) == 1)
        #expect(try Self.sample(metrics, "periscope_preprocessing_rejected_total", ["reason": "preprocessing_full"]) == 0)
    }

    @Test func aRequestWhoseDeadlinePassesWhileWaitingDoesNotRun() async throws {
        let stage = PreprocessingStage(settings: .init(threads: 1, queueCapacity: 1))
        let gate = Gate()
        defer {
            gate.open()
            stage.shutdown()
        }
        let blocker = try await Self.hold(stage, with: gate)
        let deadline = try RequestDeadline(headers: [RequestDeadline.headerName: "20"], arrival: .now, defaultMilliseconds: 1000,
                                           maximumMilliseconds: 1000)
        let ran = Flag()
        let late = Task { try await stage.run(deadline: deadline, disconnection: nil) { ran.set() } }
        #expect(await eventually { stage.queueDepth == 1 })
        try await Task.sleep(for: .milliseconds(40))
        gate.open()
        try await blocker.value
        await #expect(throws: ServiceError.deadlineExceeded(milliseconds: 20)) { try await late.value }
        #expect(!ran.isSet)
    }

    /// Work that throws frees its thread: with one thread and no queue, the next request runs.
    @Test func workThatThrowsFreesItsThread() async throws {
        struct Failure: Error {}
        let stage = PreprocessingStage(settings: .init(threads: 1, queueCapacity: 0))
        defer { stage.shutdown() }
        for _ in 0..<3 {
            await #expect(throws: Failure.self) {
                _ = try await stage.run(deadline: nil, disconnection: nil) { () throws -> Int in throw Failure() }
            }
            #expect(stage.inFlight == 0)
        }
        #expect(try await stage.run(deadline: nil, disconnection: nil) { 4 }.value == 4)
    }

    @Test func shutdownAnswersWaitingRequestsAndRefusesNewOnes() async throws {
        let stage = PreprocessingStage(settings: .init(threads: 1, queueCapacity: 2))
        let gate = Gate()
        let blocker = try await Self.hold(stage, with: gate)
        let waiting = Task { try await stage.run(deadline: nil, disconnection: nil) { 5 } }
        #expect(await eventually { stage.queueDepth == 1 })
        // Shutdown waits for the running work, so it runs off the test's task.
        let stopped = Task.detached { stage.shutdown() }
        await #expect(throws: ServiceError.shuttingDown) { try await waiting.value }
        gate.open()
        await stopped.value
        try await blocker.value
        await #expect(throws: ServiceError.shuttingDown) { _ = try await stage.run(deadline: nil, disconnection: nil) { 6 } }
    }
}

