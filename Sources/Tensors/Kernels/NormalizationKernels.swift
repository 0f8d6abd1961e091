// Normalization kernels. Statistics come from one pass of Welford's algorithm: each SIMD16 lane
// keeps its own running mean and sum of squared deviations (no catastrophic cancellation, unlike
// Σx² − (Σx)²/n), the lanes are merged with Chan's formula, and the tail is added one element
// at a time. The data are shifted by their first element first, so a large common offset costs
// no precision. The second pass writes (x − mean)·rstd·w + b.
//
// Shape letters: R rows of D elements (layer norm); N samples, C channels, S spatial elements,
// G groups (group and batch norm).

import VectorMath

/// Elements below which a normalization stays on one thread.
let normalizationGrain = 32_768

/// Statistics of p[0..<n] (n ≥ 1) in one pass: the mean is `origin + offset`, kept as two floats
/// so that `(x − origin) − offset` centers x without the rounding of a large mean (the data are
/// shifted by their first element before accumulating, the "shifted data" form of Welford).
@inline(__always) func meanAndVariance(_ p: UnsafePointer<Float>, _ n: Int) -> (origin: Float, offset: Float, variance: Float) {
    let origin = p[0]
    let shift = SIMD16<Float>(repeating: origin)
    // Two independent chains (even and odd vectors) so one's latency hides behind the other's.
    var meanA = SIMD16<Float>(), m2A = SIMD16<Float>(), meanB = SIMD16<Float>(), m2B = SIMD16<Float>()
    var steps: Float = 0
    var j = 0
    while j + 32 <= n {
        let a = loadVector(p + j) - shift, b = loadVector(p + j + 16) - shift
        steps += 1
        let inverse = SIMD16<Float>(repeating: 1 / steps)
        let deltaA = a - meanA, deltaB = b - meanB
        meanA.addProduct(deltaA, inverse)
        meanB.addProduct(deltaB, inverse)
        m2A.addProduct(deltaA, a - meanA)
        m2B.addProduct(deltaB, b - meanB)
        j += 32
    }
    var stepsA = steps
    if j + 16 <= n {
        let a = loadVector(p + j) - shift
        stepsA += 1
        let deltaA = a - meanA
        meanA.addProduct(deltaA, SIMD16(repeating: 1 / stepsA))
        m2A.addProduct(deltaA, a - meanA)
        j += 16
    }
    // Merge the chains per lane (Chan et al.), then the 16 lanes (equal counts): the mean of
    // means, and the spread of the lane means.
    var count: Float = 0, total: Float = 0, deviations: Float = 0
    if stepsA > 0 {
        let lanes = stepsA + steps
        let difference = meanB - meanA
        let mean = meanA.addingProduct(difference, SIMD16(repeating: steps / lanes))
        let m2 = (m2A + m2B).addingProduct(difference * difference, SIMD16(repeating: stepsA * steps / lanes))
        let laneMean = horizontalSum(mean) / 16
        let spread = mean - laneMean
        count = 16 * lanes
        total = laneMean
        deviations = horizontalSum(m2) + lanes * horizontalSum(spread * spread)
    }
    // Tail elements, one Welford step each.
    while j < n {
        let v = p[j] - origin
        count += 1
        let delta = v - total
        total += delta / count
        deviations = deviations.addingProduct(delta, v - total)
        j += 1
    }
    return (origin, total, Swift.max(deviations, 0) / Float(n))
}

/// out[r, :] = (x[r, :] − mean_r) / √(var_r + eps) · weight + bias, weight and bias [D] or nil.
public func layerNormKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                            weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                            rows R: Int, columns D: Int, epsilon: Float, pool: ThreadPool = .current) {
    if D == 0 { return }
    pool.parallelChunks(R, minimumChunk: Swift.max(1, normalizationGrain / D)) { range in
        for r in range {
            let source = x + r * D, destination = out + r * D
            let (origin, offset, variance) = meanAndVariance(source, D)
            let inverse = 1 / (variance + epsilon).squareRoot()
            let o = SIMD16<Float>(repeating: origin), m = SIMD16<Float>(repeating: offset)
            let s = SIMD16<Float>(repeating: inverse)
            var j = 0
            @inline(__always) func normalize(_ v: SIMD16<Float>, _ j: Int, _ lanes: Int) -> SIMD16<Float> {
                let normalized = ((v - o) - m) * s
                let w = weight.map { lanes == 16 ? loadVector($0 + j) : loadPartialVector($0 + j, lanes) }
                let b = bias.map { lanes == 16 ? loadVector($0 + j) : loadPartialVector($0 + j, lanes) }
                switch (w, b) {
                case let (w?, b?): return b.addingProduct(normalized, w)
                case let (w?, nil): return normalized * w
                case let (nil, b?): return normalized + b
                case (nil, nil): return normalized
                }
            }
            while j + 16 <= D {
                storeVector(normalize(loadVector(source + j), j, 16), destination + j)
                j += 16
            }
            if j < D {
                storePartialVector(normalize(loadPartialVector(source + j, D - j), j, D - j), destination + j, D - j)
            }
        }
    }
}

/// out[n, c, s] = x[n, c, s] · scale[c] + shift[c], then max(·, 0) when `relu`
/// (inference batch norm with the statistics folded into scale and shift).
public func channelAffineKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                                batch N: Int, channels C: Int, spatial S: Int, relu: Bool,
                                pool: ThreadPool = .current) {
    pool.parallelChunks(N * C, minimumChunk: Swift.max(1, normalizationGrain / Swift.max(S, 1))) { range in
        for plane in range {
            let c = plane % C
            let source = x + plane * S, destination = out + plane * S
            let a = SIMD16<Float>(repeating: scale[c]), b = SIMD16<Float>(repeating: shift[c])
            var j = 0
            while j + 16 <= S {
                var v = b.addingProduct(loadVector(source + j), a)
                if relu { v = VectorMath.relu(v) }
                storeVector(v, destination + j)
                j += 16
            }
            if j < S {
                var v = b.addingProduct(loadPartialVector(source + j, S - j), a)
                if relu { v = VectorMath.relu(v) }
                storePartialVector(v, destination + j, S - j)
            }
        }
    }
}

/// Group norm: statistics over each (n, group) run of C/G·S elements, affine per channel.
public func groupNormKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                            weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                            batch N: Int, channels C: Int, spatial S: Int, groups G: Int, epsilon: Float,
                            pool: ThreadPool = .current) {
    let perGroup = C / G, run = perGroup * S
    if run == 0 { return }
    pool.parallelChunks(N * G, minimumChunk: Swift.max(1, normalizationGrain / run)) { range in
        for item in range {
            let source = x + item * run, destination = out + item * run
            let (origin, offset, variance) = meanAndVariance(source, run)
            let inverse = 1 / (variance + epsilon).squareRoot()
            let o = SIMD16<Float>(repeating: origin), m = SIMD16<Float>(repeating: offset)
            for k in 0..<perGroup {
                let c = (item % G) * perGroup + k
                // (x − mean)·scale + b rather than x·scale + (b − mean·scale): no cancellation when |mean| ≫ std.
                let scale = SIMD16<Float>(repeating: inverse * (weight?[c] ?? 1))
                let shift = SIMD16<Float>(repeating: bias?[c] ?? 0)
                let s = source + k * S, d = destination + k * S
                var j = 0
                while j + 16 <= S {
                    storeVector(shift.addingProduct((loadVector(s + j) - o) - m, scale), d + j)
                    j += 16
                }
                if j < S {
                    storePartialVector(shift.addingProduct((loadPartialVector(s + j, S - j) - o) - m, scale), d + j, S - j)
                }
            }
        }
    }
}
