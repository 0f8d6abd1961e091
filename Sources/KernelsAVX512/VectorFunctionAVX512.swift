// The transcendental element functions (SiLU, sigmoid, GELU, exp, tanh, erf) over a run of floats,
// compiled for x86-64-v4: `VectorMath`'s formulas are `@_transparent`, so here each SIMD16<Float>
// is one zmm register, where the baseline (x86-64-v3) build of the same code needs two ymm halves.
// The values are bit-identical to the baseline build's (the same operations, fused multiply-adds
// written out): only the width changes.
#if arch(x86_64)
import VectorMath

/// out[i] = function(x[i]) for i in 0..<count; `out` may be `x`. Needs AVX-512 F/DQ/BW/VL.
public func vectorFunctionRunAVX512(_ function: VectorFunction, out: UnsafeMutablePointer<Float>,
                                    x: UnsafePointer<Float>, count: Int) {
    switch function {
    case .silu: run(SiLU(), out, x, count)
    case .sigmoid: run(Sigmoid(), out, x, count)
    case .geluErf: run(GELUErf(), out, x, count)
    case .geluTanh: run(GELUTanh(), out, x, count)
    case .exp: run(Exp(), out, x, count)
    case .tanh: run(Tanh(), out, x, count)
    case .erf: run(Erf(), out, x, count)
    }
}

private protocol ElementFunction {
    func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float>
}

private struct SiLU: ElementFunction { @_transparent func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.silu(x) } }
private struct Sigmoid: ElementFunction { @_transparent func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.sigmoid(x) } }
private struct GELUErf: ElementFunction { @_transparent func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.geluErf(x) } }
private struct GELUTanh: ElementFunction { @_transparent func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.geluTanh(x) } }
private struct Exp: ElementFunction { @_transparent func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.exp(x) } }
private struct Tanh: ElementFunction { @_transparent func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.tanh(x) } }
private struct Erf: ElementFunction { @_transparent func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.erf(x) } }

/// Two vectors per step (two independent chains hide the division's latency), then one, then the
/// tail as one partly filled vector (its other lanes are computed on zeros and dropped).
@inline(__always)
private func run<Function: ElementFunction>(_ function: Function, _ out: UnsafeMutablePointer<Float>,
                                            _ x: UnsafePointer<Float>, _ count: Int) {
    typealias Vector = SIMD16<Float>
    let source = UnsafeRawPointer(x), destination = UnsafeMutableRawPointer(out)
    let stride = MemoryLayout<Float>.stride
    var i = 0
    while i + 32 <= count {
        let v0 = function(source.loadUnaligned(fromByteOffset: i * stride, as: Vector.self))
        let v1 = function(source.loadUnaligned(fromByteOffset: (i + 16) * stride, as: Vector.self))
        destination.storeBytes(of: v0, toByteOffset: i * stride, as: Vector.self)
        destination.storeBytes(of: v1, toByteOffset: (i + 16) * stride, as: Vector.self)
        i += 32
    }
    while i + 16 <= count {
        destination.storeBytes(of: function(source.loadUnaligned(fromByteOffset: i * stride, as: Vector.self)),
                               toByteOffset: i * stride, as: Vector.self)
        i += 16
    }
    if i < count {
        var tail = Vector()
        for lane in 0..<(count - i) { tail[lane] = x[i + lane] }
        tail = function(tail)
        for lane in 0..<(count - i) { out[i + lane] = tail[lane] }
    }
}
#endif
