import Synchronization

/// A monotonically increasing value. Lock-free: the double's bits in one atomic word.
public final class Counter: Sendable {
    private let bits = Atomic<UInt64>(0)

    public init() {}

    /// Adds `amount` (must be ≥ 0).
    public func increment(by amount: Double = 1) {
        precondition(amount >= 0, "Counter: negative increment \(amount)")
        atomicAdd(bits, amount)
    }

    public var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}

/// Adds to a double stored as bits in an atomic word (compare-and-exchange loop).
@inline(__always)
func atomicAdd(_ bits: borrowing Atomic<UInt64>, _ amount: Double) {
    var current = bits.load(ordering: .relaxed)
    while true {
        let next = (Double(bitPattern: current) + amount).bitPattern
        let (exchanged, original) = bits.compareExchange(expected: current, desired: next, ordering: .relaxed)
        if exchanged { return }
        current = original
    }
}
