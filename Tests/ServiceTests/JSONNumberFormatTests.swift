import Foundation
import Testing
import Tensors
@testable import Service

@Suite struct JSONNumberFormatTests {
    @Test(arguments: [
        (Float(100), "100.0"), (1e-7, "1e-7"), (0.1, "0.1"), (1e16, "1e16"), (1e15, "1e15"),
        (123456792, "123456790.0"), (Float.greatestFiniteMagnitude, "3.4028235e38"),
        (Float.leastNonzeroMagnitude, "1e-45"), (-0.0, "-0.0"), (0, "0.0"), (1, "1.0"), (2.5e-5, "0.000025"),
        (1e-4, "0.0001"), (1e21, "1e21"), (16777216, "16777216.0"), (1e7, "10000000.0"), (1.5e-10, "1.5e-10"),
        (-1.5, "-1.5"), (Float.leastNormalMagnitude, "1.1754944e-38"), (1e13, "1e13"), (1e12, "1000000000000.0"),
        (9999999e6, "9999999000000.0"), (9999999e7, "9.999999e13"), (1e-6, "0.000001"), (1.25e-6, "0.00000125"), (1e-7 * 1.5, "1.5e-7"),
        (0.3, "0.3"), (2.0 / 3.0, "0.6666667"), (-123.456, "-123.456"), (Float.leastNormalMagnitude / 4, "2.938736e-39"),
    ] as [(Float, String)])
    func documentedExamples(value: Float, expected: String) {
        #expect(formatted(value) == expected)
    }

    /// Random bit patterns: the output reads back to the same bits, has no more digits than
    /// Swift's shortest `description`, and equals the reference layout of those digits.
    @Test func randomBitPatternsMatchSwiftsShortestDigits() {
        var generator = SeededGenerator(seed: 20_240_607)
        var checked = 0
        for _ in 0..<300_000 {
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()))
            guard value.isFinite else { continue }
            let text = formatted(value)
            guard let parsed = Float(text), parsed.bitPattern == value.bitPattern else {
                Issue.record("\(value.bitPattern): \(text) does not read back")
                return
            }
            let expected = FloatReference.string(value)
            guard text == expected else {
                Issue.record("\(value.bitPattern): \(text), reference \(expected) (description \(value.description))")
                return
            }
            checked += 1
        }
        #expect(checked > 290_000)  // about 1 in 256 patterns is NaN or infinite
    }

    /// Every power of ten and its neighbours, every power of two, subnormals, and the extremes.
    @Test func edgeCases() {
        var values: [Float] = [.greatestFiniteMagnitude, .leastNormalMagnitude, .leastNonzeroMagnitude,
                               Float.leastNormalMagnitude.nextDown, 0, -0.0]
        for exponent in -45...38 {
            guard let power = Float("1e\(exponent)") else { continue }
            values += [power, power.nextUp, power.nextDown]
        }
        for exponent in -149...127 {
            let power = Float(sign: .plus, exponent: exponent, significand: 1)
            values += [power, power.nextUp, power.nextDown]
        }
        for bits in UInt32(1)...UInt32(4096) { values.append(Float(bitPattern: bits)) }
        for value in values where value.isFinite {
            for signed in [value, -value] {
                let text = formatted(signed)
                #expect(Float(text)?.bitPattern == signed.bitPattern, "\(signed.bitPattern): \(text)")
                #expect(text == FloatReference.string(signed), "\(signed.bitPattern): \(text)")
            }
        }
    }

    /// Every finite float16: shortest as a float16, read back exactly.
    @Test func everyFloat16() {
        for bits in UInt16.min...UInt16.max {
            let value = Float16(bitPattern: bits)
            guard value.isFinite else { continue }
            let text = formatted(value)
            guard let parsed = Float16(text), parsed.bitPattern == bits else {
                Issue.record("\(bits): \(text) does not read back")
                return
            }
            guard text == FloatReference.string(value) else {
                Issue.record("\(bits): \(text), reference \(FloatReference.string(value))")
                return
            }
        }
    }

    @Test(arguments: [Int64.min, Int64.max, 0, -1, 9, 10, 99, 100, 101, 123456789012, -42])
    func integers(value: Int64) {
        let text = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            let length = JSONNumberFormat.write(value, to: buffer.baseAddress!)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<length]), as: UTF8.self)
        }
        #expect(text == String(value))
    }

    @Test func eightDigitsMatchesDivision() {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<100_000 {
            let value = UInt32(generator.next() % 100_000_000)
            let packed = JSONNumberFormat.eightDigits(value)
            var expected: UInt64 = 0
            var remaining = value
            for position in stride(from: 7, through: 0, by: -1) {
                expected |= UInt64(remaining % 10) << (8 * position)
                remaining /= 10
            }
            #expect(packed == expected)
        }
    }
}
