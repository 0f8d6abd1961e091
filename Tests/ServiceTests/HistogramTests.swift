import Testing
@testable import Service

@Suite struct HistogramTests {
    /// Against a naive count: each bucket holds the observations ≤ its bound.
    @Test func cumulativeCountsMatchANaiveCount() {
        let bounds: [Double] = [0.001, 0.01, 0.1, 1, 10]
        let histogram = Histogram(upperBounds: bounds)
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = []
        for _ in 0..<5_000 {
            let value = Double.random(in: 0...20, using: &generator) * (Bool.random(using: &generator) ? 0.001 : 1)
            values.append(value)
            histogram.observe(value)
        }
        values += [0.001, 10, 1e9]
        for value in values.suffix(3) { histogram.observe(value) }
        let (cumulative, sum, count) = histogram.snapshot()
        #expect(cumulative == bounds.map { bound in UInt64(values.filter { $0 <= bound }.count) } + [UInt64(values.count)])
        #expect(count == UInt64(values.count))
        #expect(abs(sum - values.reduce(0, +)) <= 1e-6 * sum)
    }

    @Test func concurrentObservationsAreAllCounted() async {
        let histogram = Histogram(upperBounds: Histogram.latencySeconds)
        let counter = Counter(), gauge = Gauge()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for index in 0..<10_000 {
                        histogram.observe(Double(index % 7) * 0.01)
                        counter.increment()
                        gauge.increment(by: 2)
                        gauge.decrement()
                    }
                }
            }
        }
        #expect(histogram.snapshot().count == 80_000)
        #expect(counter.value == 80_000)
        #expect(gauge.value == 80_000)
    }
}
