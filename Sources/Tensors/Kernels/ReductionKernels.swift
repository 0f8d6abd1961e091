// Reductions over the middle axis of an (outer, reduced, inner) view of a contiguous tensor:
// any set of adjacent axes reduces this way (A = outer, R = reduced, C = inner).
//
// C = 1 (reducing the last axes) runs along contiguous rows with several SIMD16 accumulators;
// C > 1 runs down columns, vector-wise across c. Sums accumulate in float: per lane and
// per accumulator, so a row of n sums in about n/64 steps per partial sum.

/// Elements of input below which a reduction stays on one thread.
let reductionGrain = 65_536
/// Columns handled together when C > 1 (a block stays in L1 across the R rows).
let reductionColumnBlock = 512

// MARK: - Row helpers (C = 1)

/// Σ p[0..<n].
@inline(__always) func sumOfRow(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
    var j = 0
    while j + 64 <= n {
        a0 += loadVector(p + j); a1 += loadVector(p + j + 16)
        a2 += loadVector(p + j + 32); a3 += loadVector(p + j + 48)
        j += 64
    }
    while j + 16 <= n { a0 += loadVector(p + j); j += 16 }
    if j < n { a1 += loadPartialVector(p + j, n - j) }
    return horizontalSum((a0 + a1) + (a2 + a3))
}

/// Σ p[j]² for j in 0..<n.
@inline(__always) func sumOfSquaresOfRow(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
    var j = 0
    while j + 32 <= n {
        let v0 = loadVector(p + j), v1 = loadVector(p + j + 16)
        a0.addProduct(v0, v0); a1.addProduct(v1, v1)
        j += 32
    }
    while j + 16 <= n { let v = loadVector(p + j); a0.addProduct(v, v); j += 16 }
    if j < n { let v = loadPartialVector(p + j, n - j); a1.addProduct(v, v) }
    return horizontalSum(a0 + a1)
}

/// max p[0..<n] with NaN winning (−inf for n = 0).
@inline(__always) func maximumOfRow(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var m0 = SIMD16<Float>(repeating: -.infinity), m1 = m0
    var j = 0
    while j + 32 <= n {
        m0 = maximumKeepingNaN(m0, loadVector(p + j)); m1 = maximumKeepingNaN(m1, loadVector(p + j + 16))
        j += 32
    }
    while j + 16 <= n { m0 = maximumKeepingNaN(m0, loadVector(p + j)); j += 16 }
    let m = maximumKeepingNaN(m0, m1)
    var result = -Float.infinity
    for lane in 0..<16 { result = maximumKeepingNaN(result, m[lane]) }
    while j < n { result = maximumKeepingNaN(result, p[j]); j += 1 }
    return result
}

/// Index of the first maximum of p[0..<n], NaN counting as the maximum (first NaN wins).
@inline(__always) func argmaxOfRow(_ p: UnsafePointer<Float>, _ n: Int) -> Int {
    // Per lane: the best value so far and where; strict > keeps each lane's first occurrence.
    var best = SIMD16<Float>(repeating: -.infinity), where_ = SIMD16<Int32>(repeating: -1)
    var sawNaN = SIMDMask<SIMD16<Int32>>(repeating: false)
    var lanes = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    var j = 0
    while j + 16 <= n {
        let v = loadVector(p + j)
        sawNaN .|= v .!= v
        let better = v .> best
        best.replace(with: v, where: better)
        where_.replace(with: lanes, where: better)
        lanes &+= 16
        j += 16
    }
    if any(sawNaN) {
        for i in 0..<n where p[i].isNaN { return i }
    }
    var bestValue = -Float.infinity, bestIndex = -1
    for lane in 0..<16 where where_[lane] >= 0 {
        let v = best[lane], i = Int(where_[lane])
        if bestIndex < 0 || v > bestValue || (v == bestValue && i < bestIndex) { bestValue = v; bestIndex = i }
    }
    // Tail elements come after every vector element, so only a strictly larger value (or NaN) wins.
    while j < n {
        let v = p[j]
        if v.isNaN { return j }
        if bestIndex < 0 || v > bestValue { bestValue = v; bestIndex = j }
        j += 1
    }
    // A row of only −inf: the first element, as PyTorch.
    return Swift.max(bestIndex, 0)
}

// MARK: - Kernels

/// out[a, c] = Σ_r x[a, r, c].
public func sumKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                      outer A: Int, reduced R: Int, inner C: Int, pool: ThreadPool = .current) {
    if C == 1 {
        if A < pool.threadCount && R >= 2 * reductionGrain {
            // One long row (a full sum): partial sums per thread, added in a fixed order.
            for a in 0..<A {
                let chunks = Swift.min(pool.threadCount, R / reductionGrain)
                var partials = [Float](repeating: 0, count: chunks)
                partials.withUnsafeMutableBufferPointer { partial in
                    pool.parallelFor(chunks) { chunk in
                        let start = R * chunk / chunks, end = R * (chunk + 1) / chunks
                        partial[chunk] = sumOfRow(x + a * R + start, end - start)
                    }
                }
                out[a] = partials.reduce(0, +)
            }
            return
        }
        pool.parallelChunks(A, minimumChunk: Swift.max(1, reductionGrain / Swift.max(R, 1))) { range in
            for a in range { out[a] = sumOfRow(x + a * R, R) }
        }
        return
    }
    columnBlocks(outer: A, reduced: R, inner: C, pool: pool) { a, c0, width in
        let o = out + a * C + c0, source = x + a * R * C + c0
        var c = 0
        while c + 16 <= width {
            var total = SIMD16<Float>()
            for r in 0..<R { total += loadVector(source + r * C + c) }
            storeVector(total, o + c)
            c += 16
        }
        while c < width {
            var total: Float = 0
            for r in 0..<R { total += source[r * C + c] }
            o[c] = total
            c += 1
        }
    }
}

/// out[a, c] = max_r x[a, r, c] (NaN propagates; −inf when R = 0).
public func maxKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                      outer A: Int, reduced R: Int, inner C: Int, pool: ThreadPool = .current) {
    if C == 1 {
        pool.parallelChunks(A, minimumChunk: Swift.max(1, reductionGrain / Swift.max(R, 1))) { range in
            for a in range { out[a] = maximumOfRow(x + a * R, R) }
        }
        return
    }
    columnBlocks(outer: A, reduced: R, inner: C, pool: pool) { a, c0, width in
        let o = out + a * C + c0, source = x + a * R * C + c0
        var c = 0
        while c + 16 <= width {
            var m = SIMD16<Float>(repeating: -.infinity)
            for r in 0..<R { m = maximumKeepingNaN(m, loadVector(source + r * C + c)) }
            storeVector(m, o + c)
            c += 16
        }
        while c < width {
            var m = -Float.infinity
            for r in 0..<R { m = maximumKeepingNaN(m, source[r * C + c]) }
            o[c] = m
            c += 1
        }
    }
}

/// out[a, c] = the first r maximizing x[a, r, c] (NaN counts as the maximum).
public func argmaxKernel(out: UnsafeMutablePointer<Int64>, x: UnsafePointer<Float>,
                         outer A: Int, reduced R: Int, inner C: Int, pool: ThreadPool = .current) {
    if C == 1 {
        pool.parallelChunks(A, minimumChunk: Swift.max(1, reductionGrain / Swift.max(R, 1))) { range in
            for a in range { out[a] = Int64(argmaxOfRow(x + a * R, R)) }
        }
        return
    }
    columnBlocks(outer: A, reduced: R, inner: C, pool: pool) { a, c0, width in
        let o = out + a * C + c0, source = x + a * R * C + c0
        var c = 0
        while c + 16 <= width {
            var best = loadVector(source + c), index = SIMD16<Int32>()
            for r in 1..<Swift.max(R, 1) {
                let v = loadVector(source + r * C + c)
                // Strictly better, or the first NaN (best is not NaN yet).
                let better = (v .> best) .| ((v .!= v) .& (best .== best))
                best.replace(with: v, where: better)
                index.replace(with: SIMD16(repeating: Int32(r)), where: better)
            }
            for lane in 0..<16 { o[c + lane] = Int64(index[lane]) }
            c += 16
        }
        while c < width {
            var best = source[c], index = 0
            for r in 1..<Swift.max(R, 1) {
                let v = source[r * C + c]
                if v > best || (v.isNaN && !best.isNaN) { best = v; index = r }
            }
            o[c] = Int64(index)
            c += 1
        }
    }
}

/// out[a, r, c] = x[a, r, c] / max(√(Σ_r x[a, r, c]²), eps) (PyTorch's F.normalize).
public func l2NormalizeKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                              outer A: Int, reduced R: Int, inner C: Int, epsilon: Float, pool: ThreadPool = .current) {
    if C == 1 {
        pool.parallelChunks(A, minimumChunk: Swift.max(1, reductionGrain / Swift.max(R, 1))) { range in
            for a in range {
                let norm = Swift.max(sumOfSquaresOfRow(x + a * R, R).squareRoot(), epsilon)
                unaryRun(DivideByScalarOperation(divisor: norm), out: out + a * R, x: x + a * R, count: R)
            }
        }
        return
    }
    columnBlocks(outer: A, reduced: R, inner: C, pool: pool) { a, c0, width in
        let o = out + a * R * C + c0, source = x + a * R * C + c0
        let norms = UnsafeMutablePointer<Float>.allocate(capacity: width)
        defer { norms.deallocate() }
        norms.initialize(repeating: 0, count: width)
        for r in 0..<R {
            for c in 0..<width { norms[c] = norms[c].addingProduct(source[r * C + c], source[r * C + c]) }
        }
        for c in 0..<width { norms[c] = Swift.max(norms[c].squareRoot(), epsilon) }
        for r in 0..<R {
            binaryRun(DivideOperation(), out: o + r * C, a: source + r * C, strideA: 1, b: norms, strideB: 1, count: width)
        }
    }
}

/// Calls `body(a, firstColumn, width)` for every outer index and block of columns, in parallel.
@inline(__always)
func columnBlocks(outer A: Int, reduced R: Int, inner C: Int, pool: ThreadPool,
                  _ body: (Int, Int, Int) -> Void) {
    let blocks = (C + reductionColumnBlock - 1) / reductionColumnBlock
    let perItem = Swift.max(R * Swift.min(C, reductionColumnBlock), 1)
    pool.parallelChunks(A * blocks, minimumChunk: Swift.max(1, reductionGrain / perItem)) { range in
        for item in range {
            let a = item / blocks, block = item % blocks
            let c0 = block * reductionColumnBlock
            body(a, c0, Swift.min(reductionColumnBlock, C - c0))
        }
    }
}
