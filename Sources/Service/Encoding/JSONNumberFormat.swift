/// How numbers are written in JSON responses, straight into a byte buffer (no `String` per number).
///
/// Floats use the shortest decimal that reads back as the same float (`DecimalFloat.shortest`),
/// laid out as orjson and Rust's `ryu` lay out float32 (so our bytes equal orjson's for the same
/// numpy float32 array). With n significant digits and the value in [10^(p−1), 10^p):
///
/// | case                                | example                 |
/// |-------------------------------------|-------------------------|
/// | integer, p ≤ 13                     | `100.0`, `16777216.0`   |
/// | fraction, 0 < p ≤ 13                | `0.5` → `1.5`, `12.375` |
/// | −6 < p ≤ 0                          | `0.1`, `0.000025`       |
/// | otherwise, one digit                | `1e-7`, `1e16`          |
/// | otherwise                           | `1.5e-10`, `3.4028235e38` |
///
/// Zero is `0.0` / `-0.0`. The exponent has no `+` and no leading zeros. Every form is a valid
/// JSON number. Callers handle NaN and infinities (they have no JSON number form).
public enum JSONNumberFormat {
    /// The most bytes `write(_: Float, to:)` and `write(_: Float16, to:)` produce (`-0.0000012345678`).
    public static let maximumFloatLength = 17
    /// Bytes past the end of the written number that `write` may scribble over (it uses wide
    /// unaligned stores); the destination must have `maximumFloatLength + scratchLength` bytes free.
    public static let scratchLength = 32

    /// Writes the shortest round-trip form of finite `value` at `destination`; returns the length.
    @inline(__always)
    public static func write(_ value: Float, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        let negative = value.sign == .minus
        destination.pointee = UInt8(ascii: "-")
        let start = destination + (negative ? 1 : 0)
        if value == 0 { return writeZero(start) + (negative ? 1 : 0) }
        let decimal = DecimalFloat.shortest(value)
        return writeDecimal(significand: decimal.significand, exponent: decimal.exponent, to: start) + (negative ? 1 : 0)
    }

    /// Writes the shortest round-trip form (as a float16) of finite `value`; returns the length.
    @inline(__always)
    public static func write(_ value: Float16, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        let negative = value.sign == .minus
        destination.pointee = UInt8(ascii: "-")
        let start = destination + (negative ? 1 : 0)
        if value == 0 { return writeZero(start) + (negative ? 1 : 0) }
        let decimal = DecimalFloat.shortest(value)
        return writeDecimal(significand: decimal.significand, exponent: decimal.exponent, to: start) + (negative ? 1 : 0)
    }

    /// Writes the decimal digits of `value` (with `-` when negative); returns the length (≤ 20).
    @inline(__always)
    public static func write(_ value: Int64, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        if value < 0 {
            destination.pointee = UInt8(ascii: "-")
            return 1 + write(unsigned: value.magnitude, to: destination + 1)
        }
        return write(unsigned: UInt64(value), to: destination)
    }

    /// Writes the decimal digits of `value`; returns the length (≤ 20).
    @inline(__always)
    public static func write(unsigned value: UInt64, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        if value < 10 {
            destination.pointee = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value)
            return 1
        }
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &scratch) { raw in
            let buffer = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var position = 24
            var remaining = value
            while remaining >= 10 {
                let pair = Int(remaining % 100)
                remaining /= 100
                position -= 2
                buffer[position] = twoDigitTable[2 * pair]
                buffer[position + 1] = twoDigitTable[2 * pair + 1]
            }
            if remaining > 0 || position == 24 {
                position -= 1
                buffer[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining)
            }
            let length = 24 - position
            destination.update(from: buffer + position, count: length)
            return length
        }
    }

    // MARK: - Layout

    @inline(__always)
    private static func writeZero(_ destination: UnsafeMutablePointer<UInt8>) -> Int {
        destination[0] = UInt8(ascii: "0")
        destination[1] = UInt8(ascii: ".")
        destination[2] = UInt8(ascii: "0")
        return 3
    }

    /// Lays out significand·10^exponent (significand < 10^9, nonzero) per the table above.
    @inline(__always)
    static func writeDecimal(significand: UInt64, exponent: Int, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        // Nine digit positions: `high` is the 10^8 digit, `low` the other eight, packed one per
        // byte (most significant first in memory) by SWAR arithmetic.
        let high = significand / 100_000_000
        let low = significand &- high &* 100_000_000
        let lowDigits = eightDigits(UInt32(truncatingIfNeeded: low))
        var digits: UInt128
        let count: Int
        let trailingZeros: Int
        if high != 0 {
            trailingZeros = lowDigits == 0 ? 8 : lowDigits.leadingZeroBitCount >> 3
            count = 9 - trailingZeros
            digits = UInt128(high) | (UInt128(lowDigits) << 8)
        } else {
            let leadingZeros = lowDigits.trailingZeroBitCount >> 3
            trailingZeros = lowDigits.leadingZeroBitCount >> 3
            count = 8 - leadingZeros - trailingZeros
            digits = UInt128(lowDigits &>> (leadingZeros &<< 3))
        }
        digits |= asciiZeros128
        let lastDigitExponent = exponent + trailingZeros
        // The value is in [10^(point−1), 10^point).
        let point = count + lastDigitExponent
        let raw = UnsafeMutableRawPointer(destination)
        if lastDigitExponent >= 0 && point <= 13 {
            // 1234e7 → 12340000000.0
            raw.storeBytes(of: digits, as: UInt128.self)
            raw.storeBytes(of: asciiZeros128, toByteOffset: count, as: UInt128.self)
            destination[point] = UInt8(ascii: ".")
            destination[point + 1] = UInt8(ascii: "0")
            return point + 2
        }
        if point > 0 && point <= 13 {
            // 1234e-2 → 12.34
            raw.storeBytes(of: digits, as: UInt128.self)
            raw.storeBytes(of: digits &>> (point &<< 3), toByteOffset: point + 1, as: UInt128.self)
            destination[point] = UInt8(ascii: ".")
            return count + 1
        }
        if point > -6 && point <= 0 {
            // 1234e-6 → 0.001234
            raw.storeBytes(of: asciiZeroPointZeros, as: UInt64.self)
            raw.storeBytes(of: digits, toByteOffset: 2 - point, as: UInt128.self)
            return 2 - point + count
        }
        // Scientific: d[.ddd]e±x.
        raw.storeBytes(of: digits, as: UInt128.self)
        var length = 1
        if count > 1 {
            raw.storeBytes(of: digits >> 8, toByteOffset: 2, as: UInt128.self)
            destination[1] = UInt8(ascii: ".")
            length = count + 1
        }
        destination[length] = UInt8(ascii: "e")
        length += 1
        var scientificExponent = point - 1
        if scientificExponent < 0 {
            destination[length] = UInt8(ascii: "-")
            length += 1
            scientificExponent = -scientificExponent
        }
        if scientificExponent >= 10 {
            destination[length] = twoDigitTable[2 * scientificExponent]
            destination[length + 1] = twoDigitTable[2 * scientificExponent + 1]
            return length + 2
        }
        destination[length] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: scientificExponent)
        return length + 1
    }

    /// The eight decimal digits of `value` < 10^8 as bytes 0…9, the most significant in the lowest
    /// byte (first in memory). Divisions by 100 and 10 run on all lanes at once by multiplying by
    /// fixed-point reciprocals; each lane's product stays inside its lane.
    @inline(__always)
    static func eightDigits(_ value: UInt32) -> UInt64 {
        let upper = value / 10_000, lower = value &- upper &* 10_000
        // Two 32-bit lanes of four digits each.
        var lanes = UInt64(upper) | (UInt64(lower) << 32)
        // x / 100 = (x · 10486) >> 20 for x < 10^4: four 16-bit lanes of two digits.
        let hundreds = ((lanes &* 10486) >> 20) & 0x0000_007F_0000_007F
        lanes = hundreds | ((lanes &- hundreds &* 100) << 16)
        // x / 10 = (x · 103) >> 10 for x < 100: eight byte lanes of one digit.
        let tens = ((lanes &* 103) >> 10) & 0x000F_000F_000F_000F
        return tens | ((lanes &- tens &* 10) << 8)
    }

    private static let asciiZeros128: UInt128 = 0x3030_3030_3030_3030_3030_3030_3030_3030
    /// `0.000000` in memory order.
    private static let asciiZeroPointZeros: UInt64 = 0x3030_3030_3030_2E30
}

/// "00" … "99", two bytes per entry.
let twoDigitTable: [UInt8] = {
    var table = [UInt8](repeating: 0, count: 200)
    for value in 0..<100 {
        table[2 * value] = UInt8(ascii: "0") + UInt8(value / 10)
        table[2 * value + 1] = UInt8(ascii: "0") + UInt8(value % 10)
    }
    return table
}()
