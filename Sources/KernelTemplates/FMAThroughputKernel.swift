// A register-only FMA loop, written once for any SIMD width: measures a core's peak for the FMAs of
// the target that instantiates it (no memory traffic).

/// Floating-point operations one iteration of `fmaThroughputKernel` on V performs (12 FMAs × lanes × 2).
@inlinable
public func fmaThroughputFlopsPerIteration<V: SIMD>(_: V.Type) -> Int { 12 * V.scalarCount * 2 }

/// Runs `iterations` rounds of 12 independent FMA chains on V and returns a value derived from
/// them (so the loop cannot be removed). Enough chains to cover the FMA latency on two pipes.
@inlinable
public func fmaThroughputKernel<V: SIMD>(_: V.Type, iterations: Int, multiplier: Float, addend: Float) -> Float where V.Scalar == Float {
    let x = V(repeating: multiplier), y = V(repeating: addend)
    var a0 = V(repeating: 0.0), a1 = V(repeating: 0.1), a2 = V(repeating: 0.2), a3 = V(repeating: 0.3)
    var a4 = V(repeating: 0.4), a5 = V(repeating: 0.5), a6 = V(repeating: 0.6), a7 = V(repeating: 0.7)
    var a8 = V(repeating: 0.8), a9 = V(repeating: 0.9), a10 = V(repeating: 1.0), a11 = V(repeating: 1.1)
    for _ in 0..<iterations {
        a0 = y.addingProduct(a0, x); a1 = y.addingProduct(a1, x)
        a2 = y.addingProduct(a2, x); a3 = y.addingProduct(a3, x)
        a4 = y.addingProduct(a4, x); a5 = y.addingProduct(a5, x)
        a6 = y.addingProduct(a6, x); a7 = y.addingProduct(a7, x)
        a8 = y.addingProduct(a8, x); a9 = y.addingProduct(a9, x)
        a10 = y.addingProduct(a10, x); a11 = y.addingProduct(a11, x)
    }
    let total = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11))
    return total.sum()
}
