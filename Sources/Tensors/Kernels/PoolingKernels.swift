// Pooling kernels over planes of [N, C, H, W] (a plane is one (n, c)).
//
// Shape letters: H×W input plane, P×Q output plane. Windows are separable: each output row p
// first reduces its input rows into one W-long row vector-wise (SIMD16 across w), then each
// output column q reduces its taps from that row. Planes are split over the thread pool.

/// Elements of input below which pooling stays on one thread.
let poolingGrain = 65_536

/// NaN-propagating maximum: NaN once seen stays (PyTorch's max pool and max reduce).
@inline(__always) func maximumKeepingNaN(_ m: SIMD16<Float>, _ v: SIMD16<Float>) -> SIMD16<Float> {
    m.replacing(with: v, where: (v .> m) .| (v .!= v))
}

@inline(__always) func maximumKeepingNaN(_ m: Float, _ v: Float) -> Float {
    (v > m || v.isNaN) && !m.isNaN ? v : m
}

/// out[plane, p, q] = max over rows[p] × columns[q] of x[plane, h, w]; −inf for an empty window.
/// `columnStride` is the distance between consecutive windows' starts: with 1 or 2 the
/// horizontal pass runs 16 outputs at a time over the columns whose windows are whole.
public func maxPool2dKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                            planes: Int, height H: Int, width W: Int,
                            rows: [PoolingWindow], columns: [PoolingWindow], columnStride: Int = 0,
                            pool: ThreadPool = .current) {
    let P = rows.count, Q = columns.count
    let vectorColumns = regularWindows(columns, stride: columnStride)
    pool.parallelChunks(planes, minimumChunk: Swift.max(1, poolingGrain / Swift.max(H * W, 1))) { range in
        // 32 floats of slack: the stride-2 path loads 32 to keep 16.
        let rowBuffer = UnsafeMutablePointer<Float>.allocate(capacity: W + 32)
        rowBuffer.initialize(repeating: 0, count: W + 32)
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
                // Horizontal pass: 16 whole windows at a time where the stride allows, the rest one by one.
                var q = 0
                if let run = vectorColumns {
                    q = run.lowerBound
                    while q + 16 <= run.upperBound {
                        storeVector(horizontalVector(rowBuffer, columns[q], stride: columnStride,
                                                     initial: -.infinity, maximumKeepingNaN), o + q)
                        q += 16
                    }
                    maxPoolColumns(o, rowBuffer, columns, 0..<run.lowerBound)
                }
                maxPoolColumns(o, rowBuffer, columns, q..<Q)
            }
        }
    }
}

/// The longest run of at least 16 windows that are whole (the most taps), share a divisor and
/// start `stride` apart, when the stride is one the vector path handles (1 or 2).
func regularWindows(_ windows: [PoolingWindow], stride: Int) -> Range<Int>? {
    guard stride == 1 || stride == 2, let taps = windows.map(\.count).max(), taps > 0 else { return nil }
    var best: Range<Int>? = nil, start = 0
    for q in 0...windows.count {
        let regular = q < windows.count && windows[q].count == taps
        if regular && (q == start || (windows[q].start == windows[q - 1].start + stride
                                      && windows[q].divisor == windows[q - 1].divisor)) { continue }
        if q - start >= 16 && q - start > (best?.count ?? 0) { best = start..<q }
        start = regular ? q : q + 1
    }
    return best
}

/// Reduces, for 16 outputs from `window` on, their taps of `row`: lane i reads
/// row[window.start + i·stride + s·window.step] for each tap s (stride 1 or 2).
@inline(__always)
func horizontalVector(_ row: UnsafePointer<Float>, _ window: PoolingWindow, stride: Int, initial: Float,
                      _ combine: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>) -> SIMD16<Float> {
    let base = row + window.start
    var result = SIMD16<Float>(repeating: initial)
    for s in 0..<window.count {
        // Stride 2: load 32 consecutive floats and keep the even ones (two shuffles per 8).
        let v = stride == 1 ? loadVector(base + s * window.step)
                            : UnsafeRawPointer(base + s * window.step).loadUnaligned(as: SIMD32<Float>.self).evenHalf
        result = combine(result, v)
    }
    return result
}

/// Max over each column window of `row` for outputs `range`, one at a time. Branch-free: a
/// data-dependent branch per tap mispredicts half the time; NaN is counted aside instead.
@inline(__always)
func maxPoolColumns(_ o: UnsafeMutablePointer<Float>, _ row: UnsafePointer<Float>,
                    _ columns: [PoolingWindow], _ range: Range<Int>) {
    for q in range {
        let c = columns[q]
        let taps = row + c.start
        var m = -Float.infinity, nans = 0
        for s in 0..<c.count {
            let v = taps[s * c.step]
            m = v > m ? v : m
            nans &+= v != v ? 1 : 0  // not `isNaN`: that tests exponent bits with a branch
        }
        o[q] = nans == 0 ? m : .nan
    }
}

/// out[plane, p, q] = Σ over rows[p] × columns[q] of x[plane, h, w] / (rows[p].divisor · columns[q].divisor).
/// Used for average pooling (with or without padding in the divisor) and adaptive average pooling.
/// `columnStride` as for `maxPool2dKernel`.
public func averagePool2dKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                planes: Int, height H: Int, width W: Int,
                                rows: [PoolingWindow], columns: [PoolingWindow], columnStride: Int = 0,
                                pool: ThreadPool = .current) {
    let P = rows.count, Q = columns.count
    if P == 1 && Q == 1 && rows[0] == PoolingWindow(start: 0, count: H, divisor: rows[0].divisor)
        && columns[0] == PoolingWindow(start: 0, count: W, divisor: columns[0].divisor) {
        // Global average pooling: each plane is one contiguous row.
        let divisor = Float(rows[0].divisor * columns[0].divisor)
        pool.parallelChunks(planes, minimumChunk: Swift.max(1, poolingGrain / Swift.max(H * W, 1))) { range in
            for plane in range { out[plane] = sumOfRow(x + plane * H * W, H * W) / divisor }
        }
        return
    }
    let vectorColumns = regularWindows(columns, stride: columnStride)
    pool.parallelChunks(planes, minimumChunk: Swift.max(1, poolingGrain / Swift.max(H * W, 1))) { range in
        let rowBuffer = UnsafeMutablePointer<Float>.allocate(capacity: W + 32)
        rowBuffer.initialize(repeating: 0, count: W + 32)
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
                var q = 0
                if let run = vectorColumns {
                    let divisor = SIMD16<Float>(repeating: Float(window.divisor * columns[run.lowerBound].divisor))
                    q = run.lowerBound
                    while q + 16 <= run.upperBound {
                        storeVector(horizontalVector(rowBuffer, columns[q], stride: columnStride, initial: 0, +) / divisor, o + q)
                        q += 16
                    }
                    averagePoolColumns(o, rowBuffer, columns, rowDivisor: window.divisor, 0..<run.lowerBound)
                }
                averagePoolColumns(o, rowBuffer, columns, rowDivisor: window.divisor, q..<Q)
            }
        }
    }
}

/// Window sums of `row` over each column window for outputs `range`, divided by the divisors.
@inline(__always)
func averagePoolColumns(_ o: UnsafeMutablePointer<Float>, _ row: UnsafePointer<Float>,
                        _ columns: [PoolingWindow], rowDivisor: Int, _ range: Range<Int>) {
    for q in range {
        let c = columns[q]
        var total: Float = 0
        for s in 0..<c.count { total += row[c.start + s * c.step] }
        o[q] = total / Float(rowDivisor * c.divisor)
    }
}
