// A register-only FMA loop: measures the peak of SIMD8 FMAs as this target lowers them (no memory traffic).

/// Floating-point operations one iteration of `fmaThroughputLoopPortable` performs (12 FMAs × 8 lanes × 2).
let fmaThroughputFlopsPerIterationPortable = 12 * 8 * 2

/// Runs `iterations` rounds of 12 independent SIMD8 FMA chains and returns a value derived from
/// them (so the loop cannot be removed). Enough chains to cover the FMA latency on two pipes.
@inline(never)
func fmaThroughputLoopPortable(iterations: Int, multiplier: Float, addend: Float) -> Float {
    typealias Vector = SIMD8<Float>
    let x = Vector(repeating: multiplier), y = Vector(repeating: addend)
    var a0 = Vector(repeating: 0.0), a1 = Vector(repeating: 0.1), a2 = Vector(repeating: 0.2), a3 = Vector(repeating: 0.3)
    var a4 = Vector(repeating: 0.4), a5 = Vector(repeating: 0.5), a6 = Vector(repeating: 0.6), a7 = Vector(repeating: 0.7)
    var a8 = Vector(repeating: 0.8), a9 = Vector(repeating: 0.9), a10 = Vector(repeating: 1.0), a11 = Vector(repeating: 1.1)
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
