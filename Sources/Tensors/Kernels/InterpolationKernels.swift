// Bilinear resampling of planes of [N, C, H, W] (PyTorch's `F.interpolate(mode="bilinear")`).
//
// Shape letters: H×W input plane, P×Q output plane. Each output row p reads two input rows with
// weights (`LinearTaps`), each output column q two input columns, so an output element is a
// weighted sum of four input elements. The backward pass scatters each output gradient onto the
// same four elements with the same weights. Naive twins: `Reference.interpolateBilinear`,
// `Reference.interpolateBilinearBackward` (dense interpolation matrices).

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
