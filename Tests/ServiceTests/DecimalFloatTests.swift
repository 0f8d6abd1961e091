import Testing
import Tensors
@testable import Service

@Suite struct DecimalFloatTests {
    /// The digits and exponent (trailing zeros stripped) equal those of Swift's shortest
    /// `description` (SwiftDtoa, an independent algorithm) for random floats.
    @Test func digitsMatchSwiftDescription() {
        var generator = SeededGenerator(seed: 4)
        for _ in 0..<200_000 {
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()))
            guard value.isFinite, value != 0 else { continue }
            let decimal = DecimalFloat.shortest(value).stripped
            let (digits, exponent) = FloatReference.digits(ofDescription: value.description)
            if String(decimal.significand) != digits || decimal.exponent != exponent {
                Issue.record("\(value): \(decimal) vs \(digits)e\(exponent)")
                return
            }
        }
    }

    @Test(arguments: [(Float(1), "1e0"), (100, "1e2"), (0.1, "1e-1"), (123.456, "123456e-3"), (Float.leastNonzeroMagnitude, "1e-45"),
                      (Float.greatestFiniteMagnitude, "34028235e31")])
    func examples(value: Float, expected: String) {
        #expect(DecimalFloat.shortest(value).description == expected)
        #expect(DecimalFloat.shortest(-value).description == expected)
    }

    @Test func significandHasAtMostNineDigits() {
        var generator = SeededGenerator(seed: 8)
        for _ in 0..<100_000 {
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()) & 0x7F7F_FFFF)
            #expect(DecimalFloat.shortest(value).significand < 1_000_000_000)
        }
        #expect(DecimalFloat.shortest(Float(0)) == DecimalFloat(significand: 0, exponent: 0))
        #expect(DecimalFloat.shortest(Float16(0.1)).stripped == DecimalFloat(significand: 1, exponent: -1))
    }
}
