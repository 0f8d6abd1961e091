// Shortest round-trip decimal conversion of binary floats: Raffaello Giulietti's Schubfach
// ("The Schubfach way to render doubles", 2020; the algorithm behind Java 19's Float.toString),
// here for binary32 and binary16. Legend: c = integer significand, q = binary exponent
// (value = c·2^q), k = decimal exponent, s = decimal significand (value ≈ s·10^k).

/// A finite float as `significand × 10^exponent` with the fewest significant digits that read back
/// (round to nearest, ties to even) as the same float, and among those the one closest to it.
///
/// `significand` may end in zeros (the algorithm does not strip them); `digits` strips them.
public struct DecimalFloat: Sendable, Equatable, CustomStringConvertible {
    public var significand: UInt64
    public var exponent: Int

    public init(significand: UInt64, exponent: Int) {
        self.significand = significand
        self.exponent = exponent
    }

    /// The shortest decimal of a finite nonzero `value` (sign dropped); 0 for ±0.
    @inline(__always)
    public static func shortest(_ value: Float) -> DecimalFloat {
        let bits = value.bitPattern
        let fraction = Int(bits & 0x7F_FFFF)
        let biasedExponent = Int((bits >> 23) & 0xFF)
        precondition(biasedExponent != 0xFF, "DecimalFloat: \(value) is not finite")
        return schubfach(fraction: fraction, biasedExponent: biasedExponent, format: .binary32)
    }

    /// The shortest decimal of a finite nonzero float16 `value` (sign dropped); 0 for ±0.
    @inline(__always)
    public static func shortest(_ value: Float16) -> DecimalFloat {
        let bits = value.bitPattern
        let fraction = Int(bits & 0x3FF)
        let biasedExponent = Int((bits >> 10) & 0x1F)
        precondition(biasedExponent != 0x1F, "DecimalFloat: \(value) is not finite")
        return schubfach(fraction: fraction, biasedExponent: biasedExponent, format: .binary16)
    }

    /// The significand without trailing zeros and the matching exponent.
    public var stripped: DecimalFloat {
        var result = self
        while result.significand != 0 && result.significand % 10 == 0 {
            result.significand /= 10
            result.exponent += 1
        }
        return result
    }

    /// `digits` `e` `exponent` with trailing zeros stripped, e.g. `15e-1`.
    public var description: String {
        let value = stripped
        return "\(value.significand)e\(value.exponent)"
    }
}

// MARK: - Binary formats

/// The parameters of an IEEE 754 binary format that Schubfach needs.
struct BinaryFloatFormat {
    /// Precision in bits, hidden bit included.
    let precision: Int
    /// The exponent of the smallest subnormal's unit: value = c·2^q with q ≥ minimumExponent.
    let minimumExponent: Int

    static let binary32 = BinaryFloatFormat(precision: 24, minimumExponent: -149)
    static let binary16 = BinaryFloatFormat(precision: 11, minimumExponent: -24)

    var smallestNormalSignificand: Int { 1 << (precision - 1) }
}

// MARK: - Schubfach

@inline(__always)
private func schubfach(fraction: Int, biasedExponent: Int, format: BinaryFloatFormat) -> DecimalFloat {
    if biasedExponent != 0 {
        // Normal: q = biasedExponent − bias − (precision − 1); here minusQ = −q.
        let minusQ = -format.minimumExponent + 1 - biasedExponent
        let c = format.smallestNormalSignificand | fraction
        // Integers below 2^precision are their own shortest decimal.
        if 0 < minusQ && minusQ < format.precision {
            let integer = c &>> minusQ
            if integer &<< minusQ == c { return DecimalFloat(significand: UInt64(integer), exponent: 0) }
        }
        return schubfachToDecimal(q: -minusQ, c: c, format: format)
    }
    if fraction != 0 {
        // Java scales tiny subnormals by 10 here because its spec wants two digits at least;
        // the shortest decimal may have one, which the one-digit-fewer step below finds.
        return schubfachToDecimal(q: format.minimumExponent, c: fraction, format: format)
    }
    return DecimalFloat(significand: 0, exponent: 0)
}

/// The shortest decimal in the rounding interval of c·2^q.
@inline(__always)
private func schubfachToDecimal(q: Int, c: Int, format: BinaryFloatFormat) -> DecimalFloat {
    // The interval is closed when c is even (round half to even reads its ends back as c).
    let out = c & 1
    let cb = c << 2
    let cbr = cb + 2
    let cbl: Int
    let k: Int
    if c != format.smallestNormalSignificand || q == format.minimumExponent {
        cbl = cb - 2
        k = floorLog10Pow2(q)
    } else {
        // At a power of two the interval below is half as wide.
        cbl = cb - 1
        k = floorLog10ThreeQuartersPow2(q)
    }
    let h = q + floorLog2Pow10(-k) + 33
    let g = schubfachTable[k - schubfachTableMinimumK] &+ 1
    // h is in 33…36 for every input, so the masking shifts never wrap.
    let vb = roundToOdd(g, UInt64(cb) &<< h)
    let vbl = roundToOdd(g, UInt64(cbl) &<< h)
    let vbr = roundToOdd(g, UInt64(cbr) &<< h)
    let s = vb >> 2
    if s >= 10 {
        // One digit fewer: the multiples of 10 around s (section 9.3 of the paper). Since
        // 10^k ≤ 2^q < 10^(k+1), at most one of them lies in the interval, and when one does it is
        // the shortest (any shorter decimal is a multiple of 10^(k+1) too). Java requires s ≥ 100
        // to keep two digits; for subnormals with tiny c, s can be below 100.
        let sp10 = 10 * (s / 10)
        let tp10 = sp10 + 10
        let upin = vbl + out <= sp10 << 2
        let wpin = (tp10 << 2) + out <= vbr
        if upin != wpin { return DecimalFloat(significand: UInt64(upin ? sp10 : tp10), exponent: k) }
    }
    let t = s + 1
    let uin = vbl + out <= s << 2
    let win = (t << 2) + out <= vbr
    if uin != win { return DecimalFloat(significand: UInt64(uin ? s : t), exponent: k) }
    // Both or neither in the interval: the closer one, ties to even.
    let comparison = vb - ((s + t) << 1)
    let pick = comparison < 0 || (comparison == 0 && s & 1 == 0) ? s : t
    return DecimalFloat(significand: UInt64(pick), exponent: k)
}

/// ⌊g·cp / 2^64⌋ shifted to keep two fraction bits, with the lost bits OR-ed into bit 0
/// ("round to odd"), so comparisons against the interval ends stay exact.
@inline(__always)
private func roundToOdd(_ g: UInt64, _ cp: UInt64) -> Int {
    let x1 = g.multipliedFullWidth(by: cp).high
    let vbp = x1 >> 31
    return Int(truncatingIfNeeded: vbp | (((x1 & 0xFFFF_FFFF) &+ 0xFFFF_FFFF) >> 32))
}

/// ⌊log10(2^q)⌋ for |q| ≤ 5456721.
@inline(__always) func floorLog10Pow2(_ q: Int) -> Int { (q &* 661_971_961_083) >> 41 }
/// ⌊log10(3/4 · 2^q)⌋.
@inline(__always) func floorLog10ThreeQuartersPow2(_ q: Int) -> Int { (q &* 661_971_961_083 &- 274_743_187_321) >> 41 }
/// ⌊log2(10^e)⌋ for |e| ≤ 1233.
@inline(__always) func floorLog2Pow10(_ e: Int) -> Int { (e &* 913_124_641_741) >> 38 }

/// The smallest k in `schubfachTable`: ⌊log10(2^-149)⌋.
private let schubfachTableMinimumK = -45

/// For k in −45…31: the 63 high bits of ⌊10^-k · 2^-r⌋ + 1, r chosen so that value lies in
/// [2^125, 2^126) (Java's `MathUtils.g1`). Generated with exact rational arithmetic.
private let schubfachTable: [UInt64] = [
    0x59AEDFC10D7279C5, 0x47BF19673DF52E37, 0x72CB5BD86321E38C, 0x5BD5E313828182D6,
    0x4977E8DC68679BDF, 0x758CA7C70D7292FE, 0x5E0A1FD271287598, 0x4B3B4CA85A86C47A,
    0x785EE10D5DA46D90, 0x604BE73DE4838AD9, 0x4D0985CB1D3608AE, 0x7B426FAB61F00DE3,
    0x629B8C891B267182, 0x4EE2D6D415B85ACE, 0x7E37BE2022C0914B, 0x64F964E68233A76F,
    0x50C783EB9B5C85F2, 0x409F9CBC7C4A04C2, 0x6765C793FA10079D, 0x52B7D2DCC80CD2E4,
    0x422CA8B0A00A4250, 0x69E10DE76676D080, 0x54B40B1F852BDA00, 0x43C33C1937564800,
    0x6C6B935B8BBD4000, 0x56BC75E2D6310000, 0x4563918244F40000, 0x6F05B59D3B200000,
    0x58D15E1762800000, 0x470DE4DF82000000, 0x71AFD498D0000000, 0x5AF3107A40000000,
    0x48C2739500000000, 0x746A528800000000, 0x5D21DBA000000000, 0x4A817C8000000000,
    0x7735940000000000, 0x5F5E100000000000, 0x4C4B400000000000, 0x7A12000000000000,
    0x61A8000000000000, 0x4E20000000000000, 0x7D00000000000000, 0x6400000000000000,
    0x5000000000000000, 0x4000000000000000, 0x6666666666666666, 0x51EB851EB851EB85,
    0x4189374BC6A7EF9D, 0x68DB8BAC710CB295, 0x53E2D6238DA3C211, 0x431BDE82D7B634DA,
    0x6B5FCA6AF2BD215E, 0x55E63B88C230E77E, 0x44B82FA09B5A52CB, 0x6DF37F675EF6EADF,
    0x57F5FF85E592557F, 0x465E6604B7A84465, 0x709709A125DA0709, 0x5A126E1A84AE6C07,
    0x480EBE7B9D58566C, 0x734ACA5F6226F0AD, 0x5C3BD5191B525A24, 0x49C97747490EAE83,
    0x760F253EDB4AB0D2, 0x5E72843249088D75, 0x4B8ED0283A6D3DF7, 0x78E480405D7B9658,
    0x60B6CD004AC94513, 0x4D5F0A66A23A9DA9, 0x7BCB43D769F762A8, 0x63090312BB2C4EED,
    0x4F3A68DBC8F03F24, 0x7EC3DAF941806506, 0x65697BFA9ACD1D9F, 0x51212FFBAF0A7E18,
    0x40E7599625A1FE7A,
]
