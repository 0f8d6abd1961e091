// Bilinear resampling of planes of [N, C, H, W] (PyTorch's `F.interpolate(mode="bilinear")`), and
// separable resampling along one axis of any tensor with per-output filter taps (`ResampleTaps`:
// nearest, linear, cubic and antialiased filters; bicubic position embeddings, ONNX Resize).
//
// Shape letters: H×W input plane, P×Q output plane. Each output row p reads two input rows with
// weights (`LinearTaps`), each output column q two input columns, so an output element is a
// weighted sum of four input elements. The backward pass scatters each output gradient onto the
// same four elements with the same weights. Naive twins: `Reference.interpolateBilinear`,
// `Reference.interpolateBilinearBackward` (dense interpolation matrices).
//
// Separable resampling: shape letters O×L×I (outer, the resampled axis, inner) → O×P×I. Output
// position p reads `counts[p]` consecutive input positions from `starts[p]` with their weights.
// Naive twin: `Reference.resample` (dense, double accumulators).

/// The two input positions one output position reads along one axis, and their weights.
public struct LinearTaps: Sendable, Equatable {
    public var lower: Int
    public var upper: Int
    public var lowerWeight: Float
    public var upperWeight: Float

    /// PyTorch's source positions (`area_pixel_compute_source_index`): with `alignCorners` the
    /// corner pixels' centres line up (x = p·(H−1)/(P−1)); otherwise pixel areas do
    /// (x = (p + ½)·H/P − ½, clamped at 0). The upper tap is clamped to the last input.
    public static func bilinear(inputSize: Int, outputSize: Int, alignCorners: Bool) -> [LinearTaps] {
        let scale: Float = alignCorners
            ? (outputSize > 1 ? Float(inputSize - 1) / Float(outputSize - 1) : 0)
            : Float(inputSize) / Float(outputSize)
        return (0..<outputSize).map { index in
            let source = alignCorners ? scale * Float(index) : Swift.max(scale * (Float(index) + 0.5) - 0.5, 0)
            let lower = Swift.min(Int(source), inputSize - 1)
            let upper = lower < inputSize - 1 ? lower + 1 : lower
            let weight = Swift.min(Swift.max(source - Float(lower), 0), 1)
            return LinearTaps(lower: lower, upper: upper, lowerWeight: 1 - weight, upperWeight: weight)
        }
    }
}

/// out[plane, p, q] = Σ over the row taps of p and the column taps of q of weight · x[plane, h, w].
public func bilinearInterpolateKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                      planes: Int, height H: Int, width W: Int,
                                      rows: [LinearTaps], columns: [LinearTaps], pool: ThreadPool = .current) {
    let P = rows.count, Q = columns.count
    pool.parallelChunks(planes, minimumChunk: Swift.max(1, poolingGrain / Swift.max(P * Q, 1))) { range in
        rows.withUnsafeBufferPointer { rows in
            columns.withUnsafeBufferPointer { columns in
                for plane in range {
                    let source = x + plane * H * W, target = out + plane * P * Q
                    for p in 0..<P {
                        let row = rows[p]
                        let upperRow = source + row.upper * W, lowerRow = source + row.lower * W
                        let line = target + p * Q
                        for q in 0..<Q {
                            let column = columns[q]
                            let top = column.lowerWeight * lowerRow[column.lower] + column.upperWeight * lowerRow[column.upper]
                            let bottom = column.lowerWeight * upperRow[column.lower] + column.upperWeight * upperRow[column.upper]
                            line[q] = row.lowerWeight * top + row.upperWeight * bottom
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint: gradInput[plane, h, w] (overwritten) = Σ over outputs reading (h, w) of
/// weight · gradOutput[plane, p, q].
public func bilinearInterpolateBackwardKernel(gradInput: UnsafeMutablePointer<Float>, gradOutput: UnsafePointer<Float>,
                                              planes: Int, height H: Int, width W: Int,
                                              rows: [LinearTaps], columns: [LinearTaps], pool: ThreadPool = .current) {
    let P = rows.count, Q = columns.count
    pool.parallelChunks(planes, minimumChunk: Swift.max(1, poolingGrain / Swift.max(P * Q, 1))) { range in
        rows.withUnsafeBufferPointer { rows in
            columns.withUnsafeBufferPointer { columns in
                for plane in range {
                    let target = gradInput + plane * H * W, source = gradOutput + plane * P * Q
                    target.update(repeating: 0, count: H * W)
                    for p in 0..<P {
                        let row = rows[p]
                        let lowerRow = target + row.lower * W, upperRow = target + row.upper * W
                        let line = source + p * Q
                        for q in 0..<Q {
                            let column = columns[q]
                            let top = row.lowerWeight * line[q], bottom = row.upperWeight * line[q]
                            lowerRow[column.lower] += column.lowerWeight * top
                            lowerRow[column.upper] += column.upperWeight * top
                            upperRow[column.lower] += column.lowerWeight * bottom
                            upperRow[column.upper] += column.upperWeight * bottom
                        }
                    }
                }
            }
        }
    }
}

// MARK: - Separable resampling along one axis

/// For each output position along one axis: the first input index, the number of taps, and the
/// weights (`maximumTaps` slots per position, unused ones zero). Every tap lies inside the input.
public struct ResampleTaps: Sendable, Equatable {
    public var starts: [Int]
    public var counts: [Int]
    public var weights: [Float]
    public var maximumTaps: Int

    public init(starts: [Int], counts: [Int], weights: [Float], maximumTaps: Int) {
        precondition(starts.count == counts.count && weights.count == starts.count * maximumTaps,
                     "ResampleTaps: \(starts.count) starts, \(counts.count) counts, \(weights.count) weights for \(maximumTaps) taps")
        self.starts = starts
        self.counts = counts
        self.weights = weights
        self.maximumTaps = maximumTaps
    }

    /// The number of output positions.
    public var outputSize: Int { starts.count }

    /// Identity taps: output i reads input i with weight 1 (the axis is not resized).
    public static func identity(outputRange: Range<Int>) -> ResampleTaps {
        ResampleTaps(starts: Array(outputRange), counts: Array(repeating: 1, count: outputRange.count),
                     weights: Array(repeating: 1, count: outputRange.count), maximumTaps: 1)
    }

    /// Taps from filter windows that may reach past the input: output p weighs input positions
    /// `firsts[p] ..< firsts[p] + windowSize` by `weights[p * windowSize ..< (p + 1) * windowSize]`.
    /// Positions outside `0..<inputSize` are clamped to the nearest edge (their weight adds to the
    /// edge's: edge padding), or with `excludeOutside` dropped and the remaining weights divided
    /// by their sum.
    public static func clampingWindows(inputSize: Int, firsts: [Int], weights: [Float], windowSize: Int,
                                       excludeOutside: Bool = false) -> ResampleTaps {
        precondition(inputSize > 0 && windowSize > 0 && weights.count == firsts.count * windowSize,
                     "ResampleTaps.clampingWindows: input \(inputSize), \(firsts.count) windows of \(windowSize), \(weights.count) weights")
        var taps = ResampleTaps(starts: Array(repeating: 0, count: firsts.count), counts: Array(repeating: 0, count: firsts.count),
                                weights: Array(repeating: 0, count: firsts.count * windowSize), maximumTaps: windowSize)
        for (p, first) in firsts.enumerated() {
            let window = weights[(p * windowSize)..<((p + 1) * windowSize)]
            let lower = Swift.min(Swift.max(first, 0), inputSize - 1)
            let upper = Swift.min(Swift.max(first + windowSize - 1, 0), inputSize - 1)
            let base = p * windowSize
            if excludeOutside {
                var total: Float = 0
                for (k, weight) in window.enumerated() where (0..<inputSize).contains(first + k) { total += weight }
                for (k, weight) in window.enumerated() where (0..<inputSize).contains(first + k) {
                    taps.weights[base + first + k - lower] = total != 0 ? weight / total : weight
                }
            } else {
                for (k, weight) in window.enumerated() {
                    taps.weights[base + Swift.min(Swift.max(first + k, 0), inputSize - 1) - lower] += weight
                }
            }
            taps.starts[p] = lower
            taps.counts[p] = upper - lower + 1
        }
        return taps
    }

    /// Nearest-neighbour taps: output p copies input `indices[p]` (clamped into the input).
    public static func nearest(indices: [Int], inputSize: Int) -> ResampleTaps {
        clampingWindows(inputSize: inputSize, firsts: indices, weights: Array(repeating: 1, count: indices.count), windowSize: 1)
    }

    /// Linear interpolation at each source coordinate, the coordinate clamped into [0, inputSize − 1]
    /// first (ONNX Runtime's and PyTorch's border rule): weights |x − upper| and |x − lower|, or ½
    /// and ½ on the last input.
    public static func linear(sources: [Float], inputSize: Int) -> ResampleTaps {
        precondition(inputSize > 0, "ResampleTaps.linear: empty input")
        var firsts: [Int] = [], weights: [Float] = []
        firsts.reserveCapacity(sources.count)
        weights.reserveCapacity(2 * sources.count)
        for source in sources {
            let x = Swift.max(0, Swift.min(source, Float(inputSize - 1)))
            let lower = Swift.min(Int(x), inputSize - 1), upper = Swift.min(lower + 1, inputSize - 1)
            firsts.append(lower)
            if lower == upper {
                weights += [0.5, 0.5]
            } else {
                weights += [abs(x - Float(upper)), abs(x - Float(lower))]
            }
        }
        return clampingWindows(inputSize: inputSize, firsts: firsts, weights: weights, windowSize: 2)
    }

    /// Cubic convolution (Keys, coefficient `a`: −0.75 PyTorch, −0.5 TensorFlow) at each source
    /// coordinate x: the four inputs ⌊x⌋ − 1 … ⌊x⌋ + 2, clamped to the border or, with
    /// `excludeOutside`, dropped and the rest renormalized.
    public static func cubic(sources: [Float], inputSize: Int, a: Float, excludeOutside: Bool) -> ResampleTaps {
        func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        var firsts: [Int] = [], weights: [Float] = []
        firsts.reserveCapacity(sources.count)
        weights.reserveCapacity(4 * sources.count)
        for source in sources {
            let floor = source.rounded(.down)
            let t = abs(source - floor)
            firsts.append(Int(floor) - 1)
            weights += [far(t + 1), near(t), near(1 - t), far(2 - t)]
        }
        return clampingWindows(inputSize: inputSize, firsts: firsts, weights: weights, windowSize: 4, excludeOutside: excludeOutside)
    }

    /// Antialiased taps (PyTorch's `_compute_indices_min_size_weights_aa`, ONNX Runtime's
    /// `SetupUpsampleFilterAA`) for the output positions in `outputRange`: a filter of
    /// `interpolationSize` taps at scale 1 (2 linear, 4 cubic), given as a function of |distance|,
    /// centred at `center(p)` (input pixel units, pixel centres at i + ½), widened by `scale`
    /// (input/output) when downscaling. Taps past the input are cut (`foldOutside` false: PyTorch,
    /// ONNX `exclude_outside`) or added to the edge taps (ONNX Runtime's default); weights are
    /// normalized to sum to one. The arithmetic mirrors the C++ float/double promotions.
    public static func antialiased(inputSize: Int, outputRange: Range<Int>, scale: Float, interpolationSize: Int,
                                   foldOutside: Bool, center: (Int) -> Float, filter: (Float) -> Float) -> ResampleTaps {
        precondition(inputSize > 0 && scale > 0, "ResampleTaps.antialiased: input \(inputSize), scale \(scale)")
        // support = (interp_size / 2) * scale when scale >= 1.
        let halfSize = Double(interpolationSize / 2)
        let support: Float = scale >= 1 ? Float(halfSize * Double(scale)) : Float(halfSize)
        let maximumTaps = Int(support.rounded(.up)) * 2 + 1
        let inverseScale: Float = scale >= 1 ? Float(1.0 / Double(scale)) : 1
        var taps = ResampleTaps(starts: Array(repeating: 0, count: outputRange.count), counts: Array(repeating: 0, count: outputRange.count),
                                weights: Array(repeating: 0, count: outputRange.count * maximumTaps), maximumTaps: maximumTaps)
        var window = [Float](repeating: 0, count: maximumTaps)
        for (slot, i) in outputRange.enumerated() {
            let center = center(i)
            // float - float, then + 0.5 in double, rounded down (PyTorch truncates, but clamps at 0 so
            // that only the folding ONNX Runtime's sees the difference).
            let firstReal = Int((Double(center - support) + 0.5).rounded(.down))
            let endReal = Int((Double(center + support) + 0.5).rounded(.down))
            let first = foldOutside ? firstReal : max(firstReal, 0)
            let end = foldOutside ? endReal : min(endReal, inputSize)
            let count = min(max(end - first, 0), maximumTaps)
            var total: Float = 0
            for j in 0..<count {
                let distance = Float((Double(Float(j + first) - center) + 0.5) * Double(inverseScale))
                window[j] = filter(abs(distance))
                total += window[j]
            }
            let lower = min(max(first, 0), inputSize - 1)
            let base = slot * maximumTaps
            var used = 0
            for j in 0..<count {
                let position = min(max(j + first, 0), inputSize - 1) - lower
                taps.weights[base + position] += total != 0 ? window[j] / total : window[j]
                used = max(used, position + 1)
            }
            taps.starts[slot] = lower
            taps.counts[slot] = used
        }
        return taps
    }
}

/// out[o, p, i] = Σ_j weights[p, j] · x[o, starts[p] + j, i] for x [outer, length, inner] and
/// out [outer, taps.outputSize, inner]. Rows of the inner axis are combined a whole row at a time.
public func resampleKernel(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                           outer: Int, length L: Int, inner I: Int, taps: ResampleTaps, pool: ThreadPool = .current) {
    let P = taps.outputSize, T = taps.maximumTaps
    pool.parallelChunks(outer, minimumChunk: Swift.max(1, poolingGrain / Swift.max(P * I * T, 1))) { range in
        taps.starts.withUnsafeBufferPointer { starts in
            taps.counts.withUnsafeBufferPointer { counts in
                taps.weights.withUnsafeBufferPointer { weights in
                    for o in range {
                        let source = x + o * L * I, target = out + o * P * I
                        for p in 0..<P {
                            let count = counts[p], w = weights.baseAddress! + p * T
                            let first = source + starts[p] * I, line = target + p * I
                            if I == 1 {
                                var sum: Float = 0
                                for j in 0..<count { sum += w[j] * first[j] }
                                line[0] = sum
                                continue
                            }
                            guard count > 0 else {
                                line.update(repeating: 0, count: I)
                                continue
                            }
                            let w0 = w[0]
                            for i in 0..<I { line[i] = w0 * first[i] }
                            for j in 1..<count {
                                let row = first + j * I, wj = w[j]
                                for i in 0..<I { line[i] += wj * row[i] }
                            }
                        }
                    }
                }
            }
        }
    }
}
