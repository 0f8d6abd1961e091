import Foundation
import Synchronization

/// Inference statistics of one model version in Triton's statistics-extension shape
/// (`GET /v2/models/{m}/stats`): requests that succeeded or failed with their cumulative
/// durations, the time they spent queued, preparing inputs, computing and producing outputs, and per
/// batch size the executions (forward passes) that ran. Durations are nanoseconds.
public final class ModelStatistics: Sendable {
    /// A count and a cumulative duration.
    public struct Accumulator: Sendable, Equatable {
        public var count: UInt64 = 0
        public var nanoseconds: UInt64 = 0

        mutating func add(_ seconds: Double) {
            count += 1
            nanoseconds += UInt64(max(0, seconds * 1e9).rounded())
        }
    }

    /// The executions of one batch size.
    public struct BatchAccumulator: Sendable, Equatable {
        public var computeInput = Accumulator()
        public var computeInfer = Accumulator()
        public var computeOutput = Accumulator()
    }

    /// Everything recorded so far.
    public struct Snapshot: Sendable, Equatable {
        /// Milliseconds since the Unix epoch of the last inference, 0 when none.
        public var lastInference: UInt64 = 0
        /// Inferences (batch rows) performed.
        public var inferenceCount: UInt64 = 0
        /// Forward passes run (one per batch).
        public var executionCount: UInt64 = 0
        public var success = Accumulator()
        public var fail = Accumulator()
        public var queue = Accumulator()
        public var computeInput = Accumulator()
        public var computeInfer = Accumulator()
        public var computeOutput = Accumulator()
        /// By batch size in rows.
        public var batches: [Int: BatchAccumulator] = [:]
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    /// One forward pass over `rows` batch rows took `seconds` (recorded by the worker).
    public func recordExecution(rows: Int, inputSeconds: Double, inferSeconds: Double, outputSeconds: Double) {
        let now = UInt64((Date().timeIntervalSince1970 * 1000).rounded())
        state.withLock { state in
            state.executionCount += 1
            state.inferenceCount += UInt64(rows)
            state.lastInference = now
            var batch = state.batches[rows] ?? BatchAccumulator()
            batch.computeInput.add(inputSeconds)
            batch.computeInfer.add(inferSeconds)
            batch.computeOutput.add(outputSeconds)
            state.batches[rows] = batch
        }
    }

    /// A request was answered: its total time and how it was spent.
    public func recordSuccess(totalSeconds: Double, queueSeconds: Double, inputSeconds: Double, inferSeconds: Double, outputSeconds: Double) {
        state.withLock { state in
            state.success.add(totalSeconds)
            state.queue.add(queueSeconds)
            state.computeInput.add(inputSeconds)
            state.computeInfer.add(inferSeconds)
            state.computeOutput.add(outputSeconds)
        }
    }

    /// A request for this version failed after `totalSeconds`.
    public func recordFailure(totalSeconds: Double) {
        state.withLock { $0.fail.add(totalSeconds) }
    }
}
