import Synchronization

/// Observations counted into cumulative buckets (`le` upper bounds), with their sum and count.
/// One uncontended lock per observation (tens of nanoseconds, once per request).
public final class Histogram: Sendable {
    /// Upper bounds, ascending, without +Inf (implicit).
    public let upperBounds: [Double]

    private struct State {
        var bucketCounts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    private let state: Mutex<State>

    public init(upperBounds: [Double]) {
        precondition(zip(upperBounds, upperBounds.dropFirst()).allSatisfy { $0 < $1 }, "Histogram: bounds must ascend: \(upperBounds)")
        precondition(upperBounds.allSatisfy(\.isFinite), "Histogram: +Inf is implicit")
        self.upperBounds = upperBounds
        state = Mutex(State(bucketCounts: [UInt64](repeating: 0, count: upperBounds.count)))
    }

    public func observe(_ value: Double) {
        // The first bucket whose bound is ≥ value (binary search; NaN lands in +Inf only).
        var low = 0, high = upperBounds.count
        while low < high {
            let middle = (low + high) / 2
            if value <= upperBounds[middle] { high = middle } else { low = middle + 1 }
        }
        state.withLock { state in
            if low < state.bucketCounts.count { state.bucketCounts[low] += 1 }
            state.sum += value
            state.count += 1
        }
    }

    /// Cumulative counts per bound (+Inf last, equal to `count`), the sum and the count.
    public func snapshot() -> (cumulative: [UInt64], sum: Double, count: UInt64) {
        state.withLock { state in
            var running: UInt64 = 0
            var cumulative: [UInt64] = []
            for count in state.bucketCounts {
                running += count
                cumulative.append(running)
            }
            cumulative.append(state.count)
            return (cumulative, state.sum, state.count)
        }
    }

    /// Latency buckets in seconds, 0.5 ms … 30 s.
    public static let latencySeconds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
}
