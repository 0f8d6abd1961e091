import Glibc

/// A JSON number as read from the text: up to 19 significant decimal digits and a power of ten,
/// value = ±mantissa·10^exponent. Conversions to binary types round correctly.
///
/// Parsing stores this instead of a binary value because the target type (float32, int64, …)
/// is often known only later (a V2 input's `datatype` may follow its `data`).
public struct JSONDecimal: Sendable, Equatable {
    /// The first 19 significant digits.
    public var mantissa: UInt64
    /// The power of ten of the mantissa's last digit.
    public var exponent: Int32
    public var negative: Bool
    /// True when digits beyond the 19th were dropped (nonzero ones), so `mantissa` is a lower bound.
    public var truncated: Bool
    /// True when the literal has no fraction and no exponent part (`42`, `-7`).
    public var isIntegerLiteral: Bool

    public init(mantissa: UInt64, exponent: Int32, negative: Bool, truncated: Bool = false, isIntegerLiteral: Bool = false) {
        self.mantissa = mantissa
        self.exponent = exponent
        self.negative = negative
        self.truncated = truncated
        self.isIntegerLiteral = isIntegerLiteral
    }

    /// Zero (a placeholder where parsing failed).
    public static let zero = JSONDecimal(mantissa: 0, exponent: 0, negative: false)

    // MARK: - Integers

    /// The exact integer value, or nil when it is not an integer or does not fit.
    public var int64Value: Int64? {
        guard !truncated else { return nil }
        var magnitude = mantissa
        if mantissa != 0 {
            if exponent > 0 {
                for _ in 0..<Int(exponent) {
                    let (product, overflow) = magnitude.multipliedReportingOverflow(by: 10)
                    guard !overflow else { return nil }
                    magnitude = product
                }
            } else if exponent < 0 {
                for _ in 0..<Int(-exponent) {
                    guard magnitude % 10 == 0 else { return nil }
                    magnitude /= 10
                }
            }
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// Whether the value is a whole number (whatever its size).
    public var isIntegral: Bool {
        if mantissa == 0 || exponent >= 0 { return true }
        if truncated { return false }
        var remaining = mantissa
        for _ in 0..<Int(-exponent) {
            guard remaining % 10 == 0 else { return false }
            remaining /= 10
            if remaining == 0 { return true }
        }
        return true
    }

    // MARK: - Floats

    /// The float32 nearest to the exact value (ties to even); nil when it overflows to infinity.
    /// `text` is the literal (any JSON number form), needed only when digits were truncated.
    @inline(__always)
    public func floatValue(text: () -> String) -> Float? {
        if !truncated {
            if let fast = clingerFloat() { return fast }
            if let result = eiselLemireFloat32(mantissa: mantissa, exponent: Int(exponent), negative: negative) { return result }
            return strtofChecked(canonicalText)
        }
        // 19 digits kept: the value lies in [m, m+1)·10^e; if both ends round alike, so does it.
        if let low = eiselLemireFloat32(mantissa: mantissa, exponent: Int(exponent), negative: negative),
           mantissa < .max,
           let high = eiselLemireFloat32(mantissa: mantissa + 1, exponent: Int(exponent), negative: negative),
           low == high {
            return low
        }
        return strtofChecked(JSONDecimal.canonicalLiteral(text()))
    }

    /// The double nearest to the exact value; nil when it overflows. `text` as for `floatValue`.
    public func doubleValue(text: () -> String) -> Double? {
        let source = truncated ? JSONDecimal.canonicalLiteral(text()) : canonicalText
        guard let value = Double(source), value.isFinite else { return nil }
        return value
    }

    /// Exact when the mantissa and the power of ten are both exact in float32: then one correctly
    /// rounded multiplication or division gives the correctly rounded result (Clinger 1990).
    @inline(__always)
    private func clingerFloat() -> Float? {
        guard mantissa <= 1 << 24, exponent >= -10, exponent <= 10 else { return nil }
        var value = Float(mantissa)
        if exponent < 0 { value /= exactPowersOfTenFloat[Int(-exponent)] } else { value *= exactPowersOfTenFloat[Int(exponent)] }
        return negative ? -value : value
    }

    /// `[-]mantissa e exponent`, for the C library's correctly rounded conversions.
    var canonicalText: String { "\(negative ? "-" : "")\(mantissa)" + (exponent == 0 ? "" : "e\(exponent)") }

    /// Converts canonical text (no decimal point, so no locale can change its reading).
    private func strtofChecked(_ text: String) -> Float? {
        let value = text.withCString { strtof($0, nil) }
        return value.isFinite ? value : nil
    }

    /// A JSON number literal rewritten without a decimal point: `-12.5e-3` → `-125e-4`.
    static func canonicalLiteral(_ literal: String) -> String {
        var sign = "", digits = "", fractionDigits = 0, exponent = 0
        var part = 0  // 0 integer, 1 fraction, 2 exponent
        var exponentText = ""
        for character in literal {
            switch (part, character) {
            case (0, "-"): sign = "-"
            case (0, "."): part = 1
            case (_, "e"), (_, "E"): part = 2
            case (2, _): exponentText.append(character)
            default:
                digits.append(character)
                if part == 1 { fractionDigits += 1 }
            }
        }
        // Exponents past Int range saturate; strtof turns them into 0 or infinity.
        let explicit = exponentText.isEmpty ? 0 : Int(exponentText) ?? (exponentText.hasPrefix("-") ? -1_000_000 : 1_000_000)
        exponent = explicit - fractionDigits
        return "\(sign)\(digits)e\(exponent)"
    }
}

/// 10^0 … 10^10, all exact in float32.
private let exactPowersOfTenFloat: [Float] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]
