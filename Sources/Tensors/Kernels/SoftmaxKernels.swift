// Softmax kernels.
//
// Shape letters: R rows of T logits (softmax over the last axis, the attention case);
// A outer, N reduced, C inner for softmax over a middle axis.
// A row whose logits are all −inf (a fully masked attention row) gives zeros, as PyTorch's
// scaled_dot_product_attention; NaN anywhere in a row makes the row NaN; +inf gives NaN.

import VectorMath

/// Elements below which softmax stays on one thread.
let softmaxGrain = 16_384

/// out[r, t] = softmax_t(x[r, t]·scale + mask[maskOffsets[r] + t]) over rows R of T.
/// `mask` (when given) holds one T-long row per distinct offset: the broadcast of an additive
/// mask over heads and queries is just repeated offsets. `out` may be `x`.
public func softmaxRowsKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                              rows R: Int, columns T: Int, scale: Float = 1,
                              mask: UnsafePointer<Float>? = nil, maskOffsets: UnsafePointer<Int>? = nil,
                              fullyMaskedRow: Float = 0, pool: ThreadPool = .current) {
    if T == 0 { return }
    pool.parallelChunks(R, minimumChunk: Swift.max(1, softmaxGrain / T)) { range in
        for r in range {
            softmaxRow(out: out + r * T, x: x + r * T, count: T, scale: scale,
                       mask: mask.map { $0 + (maskOffsets?[r] ?? 0) }, fullyMaskedRow: fullyMaskedRow)
        }
    }
}

/// One row: logits into `out` while taking the maximum, then exponentials and their sum, then the scale.
/// A row whose logits are all −inf becomes `fullyMaskedRow` (0 as PyTorch's attention; NaN as ONNX's Softmax).
@inline(__always)
func softmaxRow(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count T: Int, scale: Float,
                mask: UnsafePointer<Float>?, fullyMaskedRow: Float = 0) {
    let s = SIMD16<Float>(repeating: scale)
    var m = SIMD16<Float>(repeating: -.infinity)
    var j = 0
    @inline(__always) func logits(_ j: Int, _ lanes: Int) -> SIMD16<Float> {
        let v = lanes == 16 ? loadVector(x + j) : loadPartialVector(x + j, lanes)
        guard let mask else { return scale == 1 ? v : v * s }
        let b = lanes == 16 ? loadVector(mask + j) : loadPartialVector(mask + j, lanes)
        return b.addingProduct(v, s)
    }
    while j + 16 <= T {
        let v = logits(j, 16)
        m = maximumKeepingNaN(m, v)
        storeVector(v, out + j)
        j += 16
    }
    var maximum = -Float.infinity
    for lane in 0..<16 { maximum = maximumKeepingNaN(maximum, m[lane]) }
    if j < T {
        let v = logits(j, T - j)
        for lane in 0..<(T - j) { maximum = maximumKeepingNaN(maximum, v[lane]) }
        storePartialVector(v, out + j, T - j)
    }
    if maximum == -.infinity {
        out.update(repeating: fullyMaskedRow, count: T)
        return
    }
    let shift = SIMD16<Float>(repeating: maximum)
    var total0 = SIMD16<Float>(), total1 = SIMD16<Float>()
    j = 0
    while j + 32 <= T {
        let e0 = VectorMath.exp(loadVector(out + j) - shift), e1 = VectorMath.exp(loadVector(out + j + 16) - shift)
        total0 += e0; total1 += e1
        storeVector(e0, out + j); storeVector(e1, out + j + 16)
        j += 32
    }
    while j + 16 <= T {
        let e = VectorMath.exp(loadVector(out + j) - shift)
        total0 += e
        storeVector(e, out + j)
        j += 16
    }
    if j < T {
        // Lanes past the row must not add to the sum: exp(−inf) is 0.
        var v = SIMD16<Float>(repeating: -.infinity)
        for lane in 0..<(T - j) { v[lane] = out[j + lane] }
        let e = VectorMath.exp(v - shift)
        total1 += e
        storePartialVector(e, out + j, T - j)
    }
    let inverse = SIMD16<Float>(repeating: 1 / horizontalSum(total0 + total1))
    j = 0
    while j + 16 <= T { storeVector(loadVector(out + j) * inverse, out + j); j += 16 }
    while j < T { out[j] *= inverse[0]; j += 1 }
}

/// out[a, n, c] = softmax over n of x[a, n, c] (a middle axis), vector-wise across c.
public func softmaxStridedKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                 outer A: Int, reduced N: Int, inner C: Int, fullyMaskedRow: Float = 0,
                                 pool: ThreadPool = .current) {
    if N == 0 { return }
    columnBlocks(outer: A, reduced: N, inner: C, pool: pool) { a, c0, width in
        let source = x + a * N * C + c0, destination = out + a * N * C + c0
        var c = 0
        while c < width {
            let lanes = Swift.min(16, width - c)
            @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
                lanes == 16 ? loadVector(p) : loadPartialVector(p, lanes)
            }
            var m = SIMD16<Float>(repeating: -.infinity)
            for n in 0..<N { m = maximumKeepingNaN(m, load(source + n * C + c)) }
            let allMasked = m .== -.infinity
            // An all −inf column would give (−inf) − (−inf) = NaN; shift it by 0 instead and zero it below.
            let shift = m.replacing(with: 0, where: allMasked)
            var total = SIMD16<Float>()
            for n in 0..<N {
                let e = VectorMath.exp(load(source + n * C + c) - shift)
                total += e
                storePartialVector(e, destination + n * C + c, lanes)
            }
            let inverse = (1 / total).replacing(with: 0, where: allMasked)
            let masked = SIMD16<Float>(repeating: fullyMaskedRow)
            for n in 0..<N {
                let p = destination + n * C + c
                storePartialVector((load(p) * inverse).replacing(with: masked, where: allMasked), p, lanes)
            }
            c += lanes
        }
    }
}
