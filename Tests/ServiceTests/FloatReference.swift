import Foundation
@testable import Service

/// The naive twin of `JSONNumberFormat`: Swift's own shortest round-trip `description` (a different
/// algorithm, SwiftDtoa), re-laid out with plain `String` code in the documented format.
enum FloatReference {
    /// The significant digits (no leading or trailing zeros) and the exponent of the last digit
    /// of Swift's `description` of a finite nonzero value.
    static func digits(ofDescription text: String) -> (digits: String, exponent: Int) {
        var body = Substring(text)
        if body.hasPrefix("-") { body = body.dropFirst() }
        var exponent = 0
        if let e = body.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(body[body.index(after: e)...])!
            body = body[..<e]
        }
        var digits = ""
        if let dot = body.firstIndex(of: ".") {
            let fraction = body[body.index(after: dot)...]
            digits = String(body[..<dot]) + fraction
            exponent -= fraction.count
        } else {
            digits = String(body)
        }
        while digits.hasPrefix("0") { digits.removeFirst() }
        while digits.hasSuffix("0") { digits.removeLast(); exponent += 1 }
        return (digits, exponent)
    }

    /// The documented layout of `digits`·10^`exponent`, built with strings.
    static func layout(digits: String, exponent: Int, negative: Bool) -> String {
        let sign = negative ? "-" : ""
        if digits.isEmpty { return sign + "0.0" }
        let count = digits.count
        let point = count + exponent
        if exponent >= 0 && point <= 13 {
            return sign + digits + String(repeating: "0", count: exponent) + ".0"
        }
        if point > 0 && point <= 13 {
            return sign + digits.prefix(point) + "." + digits.dropFirst(point)
        }
        if point > -6 && point <= 0 {
            return sign + "0." + String(repeating: "0", count: -point) + digits
        }
        let mantissa = count == 1 ? digits : digits.prefix(1) + "." + digits.dropFirst()
        return sign + mantissa + "e" + String(point - 1)
    }

    static func string(_ value: Float) -> String {
        let (digits, exponent) = digits(ofDescription: value.description)
        return layout(digits: digits, exponent: exponent, negative: value.sign == .minus)
    }

    /// Float16 by exhaustive search with exact integer arithmetic (Swift's own `Float16.description`
    /// prints integral values with all their digits, e.g. `4112.0` where `4.11e3` reads back the same).
    /// Everything is scaled by S = 2^25·10^12 so the value, the interval ends and every candidate
    /// d·10^x (x ≥ −12) are integers.
    static func string(_ value: Float16) -> String {
        let negative = value.sign == .minus
        guard value != 0 else { return layout(digits: "", exponent: 0, negative: negative) }
        let bits = value.bitPattern & 0x7FFF
        let biased = Int(bits >> 10), fraction = UInt128(bits & 0x3FF)
        let m = biased == 0 ? fraction : fraction | 0x400
        let e = biased == 0 ? -24 : biased - 25
        let tenToTwelve: UInt128 = 1_000_000_000_000
        // Scaled value and half-ulp widths: one ulp is 2^e, scaled 2^(e+25)·10^12.
        let ulp = (UInt128(1) << (e + 25)) * tenToTwelve
        let scaled = m * ulp
        let upper = ulp / 2
        let lower = (m == 0x400 && biased > 1) ? ulp / 4 : ulp / 2
        let closed = m % 2 == 0
        let low = scaled - lower, high = scaled + upper
        for x in stride(from: 5, through: -12, by: -1) {
            var unit = UInt128(1) << 25
            for _ in 0..<(x + 12) { unit *= 10 }
            var first = (low + unit - 1) / unit
            if !closed && first * unit == low { first += 1 }
            var last = high / unit
            if !closed && last * unit == high { last -= 1 }
            guard first <= last else { continue }
            var best = first, bestDistance = distance(first * unit, scaled)
            var candidate = first + 1
            while candidate <= last {
                let d = distance(candidate * unit, scaled)
                if d < bestDistance || (d == bestDistance && candidate % 2 == 0) { best = candidate; bestDistance = d }
                candidate += 1
            }
            var digits = String(best), exponent = x
            while digits.hasSuffix("0") { digits.removeLast(); exponent += 1 }
            return layout(digits: digits, exponent: exponent, negative: negative)
        }
        preconditionFailure("no candidate for \(value)")
    }

    private static func distance(_ a: UInt128, _ b: UInt128) -> UInt128 { a > b ? a - b : b - a }
}

/// `JSONNumberFormat`'s output for one value, as a String.
func formatted(_ value: Float) -> String {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer in
        let length = JSONNumberFormat.write(value, to: buffer.baseAddress!)
        return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<length]), as: UTF8.self)
    }
}

func formatted(_ value: Float16) -> String {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer in
        let length = JSONNumberFormat.write(value, to: buffer.baseAddress!)
        return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<length]), as: UTF8.self)
    }
}
