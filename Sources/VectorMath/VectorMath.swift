// Vectorized transcendental functions on SIMD16<Float>, accurate to a few ulp over the whole
// float range, with IEEE behaviour at the edges (NaN propagates, ±inf give the limits, ±0 keep
// their sign where the function is odd). The activations, softmax and GELU kernels build on these.
//
// Every polynomial is evaluated with `addingProduct` (one fused multiply-add per step); the
// coefficients were fitted (minimax, Lawson's algorithm) against 40-digit references and checked
// against Foundation's functions in VectorMathTests.

/// The vector math kernels. Scalar overloads run the same vector code on a splat, so a tail
/// element gets exactly the value it would get inside a full vector.
///
/// The vector functions are `@_transparent`: `@inline(__always)` was not honoured for `exp`
/// inside `erf`/`tanh` (a call per vector, arguments split into 128-bit halves), which cost
/// GELU 1.5× and `exp` itself 2.5× in the elementwise kernels.
public enum VectorMath {
    public typealias Vector = SIMD16<Float>
    public typealias Bits = SIMD16<UInt32>

    // MARK: - Helpers

    @_transparent @usableFromInline static func bits(_ x: Vector) -> Bits { unsafeBitCast(x, to: Bits.self) }
    @_transparent @usableFromInline static func float(_ x: Bits) -> Vector { unsafeBitCast(x, to: Vector.self) }

    /// |x| by clearing the sign bit.
    @_transparent public static func absolute(_ x: Vector) -> Vector { float(bits(x) & 0x7FFF_FFFF) }

    /// `magnitude` with the sign bit of `sign`.
    @_transparent @usableFromInline static func copySign(_ magnitude: Vector, _ sign: Vector) -> Vector {
        float((bits(magnitude) & 0x7FFF_FFFF) | (bits(sign) & 0x8000_0000))
    }

    /// Lane-wise maximum that keeps `a` where `a` is NaN (the clamp below relies on it).
    @_transparent @usableFromInline static func maximum(_ a: Vector, _ b: Vector) -> Vector { a.replacing(with: b, where: a .< b) }
    @_transparent @usableFromInline static func minimum(_ a: Vector, _ b: Vector) -> Vector { a.replacing(with: b, where: b .< a) }

    // MARK: - exp

    /// eˣ (≤ 1 ulp in [-87, 88]; correct overflow to +inf, gradual underflow to 0; NaN stays NaN).
    @_transparent
    public static func exp(_ x: Vector) -> Vector {
        // Beyond these bounds the result is +inf / 0 anyway; clamping keeps n small.
        let x = minimum(maximum(x, Vector(repeating: -104)), Vector(repeating: 89))
        // n = round(x / ln 2) through the 1.5·2²³ shifter: the low mantissa bits of t hold n.
        let shifter = Vector(repeating: 12_582_912)
        let t = shifter.addingProduct(x, Vector(repeating: 1.44269504088896341))
        let n = t - shifter
        // r = x − n·ln 2 in two steps (Cody–Waite), |r| ≤ ln 2 / 2.
        var r = x.addingProduct(n, Vector(repeating: -0.693145751953125))
        r = r.addingProduct(n, Vector(repeating: -1.428606765330187045e-06))
        // eʳ ≈ 1 + r + r²·P(r) (Cephes expf coefficients).
        var p = Vector(repeating: 1.9875691500e-4)
        p = Vector(repeating: 1.3981999507e-3).addingProduct(p, r)
        p = Vector(repeating: 8.3334519073e-3).addingProduct(p, r)
        p = Vector(repeating: 4.1665795894e-2).addingProduct(p, r)
        p = Vector(repeating: 1.6666665459e-1).addingProduct(p, r)
        p = Vector(repeating: 5.0000001201e-1).addingProduct(p, r)
        p = r.addingProduct(p, r * r) + 1
        // 2ⁿ as two normal powers 2^(n/2)·2^(n − n/2): n runs from −150 to 128, beyond one
        // exponent field, and this way results in the subnormal range round only once.
        let integer = unsafeBitCast(bits(t) &- bits(shifter), to: SIMD16<Int32>.self)
        let half = integer &>> 1
        let first = float(unsafeBitCast((half &+ 127) &<< 23, to: Bits.self))
        let second = float(unsafeBitCast((integer &- half &+ 127) &<< 23, to: Bits.self))
        return p * first * second
    }

    // MARK: - erf

    /// The error function (≤ 3 ulp; erf(±inf) = ±1, erf(−0) = −0, NaN stays NaN).
    @_transparent
    public static func erf(_ x: Vector) -> Vector {
        let a = absolute(x)
        // |x| < 1: erf(x) = x·P(x²).
        let t = a * a
        var p = Vector(repeating: 7.854004070395604e-05)
        p = Vector(repeating: -0.0008010240853764117).addingProduct(p, t)
        p = Vector(repeating: 0.005188333801925182).addingProduct(p, t)
        p = Vector(repeating: -0.026853814721107483).addingProduct(p, t)
        p = Vector(repeating: 0.1128358542919159).addingProduct(p, t)
        p = Vector(repeating: -0.3761262595653534).addingProduct(p, t)
        p = Vector(repeating: 1.1283791065216064).addingProduct(p, t)
        let small = a * p
        // 1 ≤ |x| < 3.92: erf(x) = 1 − exp(Q(|x| − 2.5)) with Q ≈ log erfc; beyond, erf rounds to 1.
        // Both branches are computed and blended: with real activations most vectors hold lanes
        // of both kinds, and a per-vector branch costs a horizontal reduction.
        let u = minimum(a, Vector(repeating: 4)) - 2.5
        var q = Vector(repeating: 1.6319651194862672e-06)
        q = Vector(repeating: -1.3278306141728535e-05).addingProduct(q, u)
        q = Vector(repeating: 7.733255915809423e-05).addingProduct(q, u)
        q = Vector(repeating: -0.00042024676804430783).addingProduct(q, u)
        q = Vector(repeating: 0.0021652248688042164).addingProduct(q, u)
        q = Vector(repeating: -0.010858423076570034).addingProduct(q, u)
        q = Vector(repeating: -0.9438936710357666).addingProduct(q, u)
        q = Vector(repeating: -5.352680683135986).addingProduct(q, u)
        q = Vector(repeating: -7.806815147399902).addingProduct(q, u)
        var result = (1 - exp(q)).replacing(with: 1, where: a .>= 3.92)
        result.replace(with: small, where: .!(a .>= 1))
        // NaN fails `a >= 1` and takes the small branch, where it stays NaN.
        return copySign(result, x)
    }

    // MARK: - tanh

    /// Hyperbolic tangent (≤ 3 ulp; tanh(±inf) = ±1, tanh(−0) = −0, NaN stays NaN).
    @_transparent
    public static func tanh(_ x: Vector) -> Vector {
        let a = absolute(x)
        // |x| < 0.625: tanh(x) = x + x·x²·P(x²).
        let t = a * a
        var p = Vector(repeating: 0.0022989963181316853)
        p = Vector(repeating: -0.008350066840648651).addingProduct(p, t)
        p = Vector(repeating: 0.0217710193246603).addingProduct(p, t)
        p = Vector(repeating: -0.05395955592393875).addingProduct(p, t)
        p = Vector(repeating: 0.13333305716514587).addingProduct(p, t)
        p = Vector(repeating: -0.3333333432674408).addingProduct(p, t)
        let small = a.addingProduct(a, t * p)
        // |x| ≥ 0.625: tanh(a) = 1 − 2 / (e²ᵃ + 1); e²ᵃ overflows to +inf for large a and gives
        // exactly 1. Both branches are computed and blended (see erf). NaN takes this branch.
        let large = 1 - 2 / (exp(a + a) + 1)
        let result = large.replacing(with: small, where: a .< 0.625)
        return copySign(result, x)
    }

    // MARK: - Activations built on exp, erf, tanh

    /// 1 / (1 + e⁻ˣ).
    @_transparent
    public static func sigmoid(_ x: Vector) -> Vector { 1 / (1 + exp(-x)) }

    /// x / (1 + e⁻ˣ) (PyTorch's formula: silu(−inf) is NaN there too).
    @_transparent
    public static func silu(_ x: Vector) -> Vector { x / (1 + exp(-x)) }

    /// x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
    @_transparent
    public static func geluErf(_ x: Vector) -> Vector {
        let half = x * 0.5
        return half.addingProduct(half, erf(x * 0.70710678118654752))
    }

    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    @_transparent
    public static func geluTanh(_ x: Vector) -> Vector {
        let cube = x * x * x
        let inner = x.addingProduct(cube, Vector(repeating: 0.044715)) * 0.7978845608028654
        let half = x * 0.5
        return half.addingProduct(half, tanh(inner))
    }

    /// max(x, 0) with PyTorch's edge cases: NaN stays NaN, −0 stays −0.
    @_transparent
    public static func relu(_ x: Vector) -> Vector { x.replacing(with: 0, where: x .< 0) }

    // MARK: - Scalar forms (the same vector code on a splat)

    public static func exp(_ x: Float) -> Float { exp(Vector(repeating: x))[0] }
    public static func erf(_ x: Float) -> Float { erf(Vector(repeating: x))[0] }
    public static func tanh(_ x: Float) -> Float { tanh(Vector(repeating: x))[0] }
    public static func sigmoid(_ x: Float) -> Float { sigmoid(Vector(repeating: x))[0] }
    public static func silu(_ x: Float) -> Float { silu(Vector(repeating: x))[0] }
    public static func geluErf(_ x: Float) -> Float { geluErf(Vector(repeating: x))[0] }
    public static func geluTanh(_ x: Float) -> Float { geluTanh(Vector(repeating: x))[0] }
}

/// The element functions above by name, for kernels that run one over a whole buffer in another
/// ISA's build (`vectorFunctionRunAVX512`).
public enum VectorFunction: Sendable {
    case silu, sigmoid, geluErf, geluTanh, exp, tanh, erf
}
