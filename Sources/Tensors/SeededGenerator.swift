/// A small, fast, seedable random number generator (SplitMix64): the same seed gives the same
/// sequence on every platform and run, so seeded weights are reproducible.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A float uniform in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A standard normal sample (Box–Muller).
    public mutating func nextNormal() -> Float {
        var u1 = nextUnitFloat()
        while u1 <= 0 { u1 = nextUnitFloat() }
        let u2 = nextUnitFloat()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Tensor {
    /// Uniform values in `range`.
    public static func uniform(_ shape: [Int], in range: ClosedRange<Float> = 0...1, using generator: inout SeededGenerator) -> Tensor {
        let width = range.upperBound - range.lowerBound
        return Tensor(shape: shape, scalars: (0..<elementCount(shape)).map { _ in range.lowerBound + width * generator.nextUnitFloat() })
    }

    /// Normal values with `mean` and `standardDeviation`.
    public static func normal(_ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, using generator: inout SeededGenerator) -> Tensor {
        Tensor(shape: shape, scalars: (0..<elementCount(shape)).map { _ in mean + standardDeviation * generator.nextNormal() })
    }
}
