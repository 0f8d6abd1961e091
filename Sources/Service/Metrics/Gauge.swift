import Synchronization

/// A value that goes up and down. Lock-free.
public final class Gauge: Sendable {
    private let bits = Atomic<UInt64>(0)

    public init() {}

    public func set(_ value: Double) { bits.store(value.bitPattern, ordering: .relaxed) }
    public func increment(by amount: Double = 1) { atomicAdd(bits, amount) }
    public func decrement(by amount: Double = 1) { atomicAdd(bits, -amount) }

    public var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}
