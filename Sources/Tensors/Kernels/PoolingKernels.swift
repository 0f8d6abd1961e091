// Pooling kernels over planes of [N, C, H, W] (a plane is one (n, c)).
//
// Shape letters: H×W input plane, P×Q output plane. Windows are separable: each output row p
// first reduces its input rows into one W-long row vector-wise (SIMD16 across w), then each
// output column q reduces its taps from that row. Planes are split over the thread pool.

/// Elements of input below which pooling stays on one thread.
let poolingGrain = 16_384

/// NaN-propagating maximum: NaN once seen stays (PyTorch's max pool and max reduce).
@inline(__always) func maximumKeepingNaN(_ m: SIMD16<Float>, _ v: SIMD16<Float>) -> SIMD16<Float> {
    m.replacing(with: v, where: (v .> m) .| (v .!= v))
}

@inline(__always) func maximumKeepingNaN(_ m: Float, _ v: Float) -> Float {
    (v > m || v.isNaN) && !m.isNaN ? v : m
}

/// out[plane, p, q] = max over rows[p] × columns[q] of x[plane, h, w]; −inf for an empty window.
public func maxPool2dKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                            planes: Int, height H: Int, width W: Int,
                            rows: [PoolingWindow], columns: [PoolingWindow], pool: ThreadPool = .current) {
    let P = rows.count, Q = columns.count
    pool.parallelChunks(planes, minimumChunk: Swift.max(1, poolingGrain / Swift.max(H * W, 1))) { range in
        let rowBuffer = UnsafeMutablePointer<Float>.allocate(capacity: W)
        defer { rowBuffer.deallocate() }
        for plane in range {
            let source = x + plane * H * W
            for p in 0..<P {
                let window = rows[p]
                let o = out + (plane * P + p) * Q
                if window.count == 0 {
                    for q in 0..<Q { o[q] = -.infinity }
                    continue
                }
                // Vertical pass: rowBuffer[w] = max over the window's rows.
                let first = source + window.start * W
                var w = 0
                while w + 16 <= W {
                    var m = loadVector(first + w)
                    for r in 1..<Swift.max(window.count, 1) {
                        m = maximumKeepingNaN(m, loadVector(first + r * window.step * W + w))
                    }
                    storeVector(m, rowBuffer + w)
                    w += 16
                }
                while w < W {
                    var m = first[w]
                    for r in 1..<Swift.max(window.count, 1) { m = maximumKeepingNaN(m, first[r * window.step * W + w]) }
                    rowBuffer[w] = m
                    w += 1
                }
                // Horizontal pass over the taps of each output column.
                for q in 0..<Q {
                    let c = columns[q]
                    if c.count == 0 { o[q] = -.infinity; continue }
                    var m = rowBuffer[c.start]
                    for s in 1..<Swift.max(c.count, 1) { m = maximumKeepingNaN(m, rowBuffer[c.start + s * c.step]) }
                    o[q] = m
                }
            }
        }
    }
}

/// out[plane, p, q] = Σ over rows[p] × columns[q] of x[plane, h, w] / (rows[p].divisor · columns[q].divisor).
/// Used for average pooling (with or without padding in the divisor) and adaptive average pooling.
public func averagePool2dKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                planes: Int, height H: Int, width W: Int,
                                rows: [PoolingWindow], columns: [PoolingWindow], pool: ThreadPool = .current) {
    let P = rows.count, Q = columns.count
    pool.parallelChunks(planes, minimumChunk: Swift.max(1, poolingGrain / Swift.max(H * W, 1))) { range in
        let rowBuffer = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(W, 1))
        defer { rowBuffer.deallocate() }
        for plane in range {
            let source = x + plane * H * W
            for p in 0..<P {
                let window = rows[p]
                let o = out + (plane * P + p) * Q
                let first = source + window.start * W
                var w = 0
                while w + 16 <= W {
                    var total = SIMD16<Float>()
                    for r in 0..<window.count { total += loadVector(first + r * window.step * W + w) }
                    storeVector(total, rowBuffer + w)
                    w += 16
                }
                while w < W {
                    var total: Float = 0
                    for r in 0..<window.count { total += first[r * window.step * W + w] }
                    rowBuffer[w] = total
                    w += 1
                }
                for q in 0..<Q {
                    let c = columns[q]
                    var total: Float = 0
                    for s in 0..<c.count { total += rowBuffer[c.start + s * c.step] }
                    o[q] = total / Float(window.divisor * c.divisor)
                }
            }
        }
    }
}
