// Bilinear resampling as products with dense interpolation matrices: out = A · X · Bᵀ per plane,
// where row p of A [P, H] holds the weights of the input rows that output row p reads (and B
// [Q, W] the same for columns); the backward pass is Aᵀ · G · B. Double accumulators.

extension Reference {
    /// PyTorch's `F.interpolate(x, size, mode="bilinear", align_corners)` for [N, C, H, W].
    public static func interpolateBilinear(_ x: Tensor, size: (Int, Int), alignCorners: Bool) -> Tensor {
        let (N, C, H, W) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let a = interpolationMatrix(inputSize: H, outputSize: size.0, alignCorners: alignCorners)
        let b = interpolationMatrix(inputSize: W, outputSize: size.1, alignCorners: alignCorners)
        let input = x.toArray()
        var out = [Float](repeating: 0, count: N * C * size.0 * size.1)
        for plane in 0..<(N * C) {
            for p in 0..<size.0 {
                for q in 0..<size.1 {
                    var total: Double = 0
                    for h in 0..<H where a[p][h] != 0 {
                        for w in 0..<W where b[q][w] != 0 {
                            total += a[p][h] * b[q][w] * Double(input[plane * H * W + h * W + w])
                        }
                    }
                    out[(plane * size.0 + p) * size.1 + q] = Float(total)
                }
            }
        }
        return Tensor(shape: [N, C, size.0, size.1], scalars: out)
    }

    /// The gradient of `interpolateBilinear` with respect to its input [N, C, H, W] (`inputShape`)
    /// given the output's gradient [N, C, P, Q].
    public static func interpolateBilinearBackward(_ gradient: Tensor, inputShape: [Int], alignCorners: Bool) -> Tensor {
        let (N, C, H, W) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (P, Q) = (gradient.shape[2], gradient.shape[3])
        let a = interpolationMatrix(inputSize: H, outputSize: P, alignCorners: alignCorners)
        let b = interpolationMatrix(inputSize: W, outputSize: Q, alignCorners: alignCorners)
        let g = gradient.toArray()
        var out = [Float](repeating: 0, count: N * C * H * W)
        for plane in 0..<(N * C) {
            for h in 0..<H {
                for w in 0..<W {
                    var total: Double = 0
                    for p in 0..<P where a[p][h] != 0 {
                        for q in 0..<Q where b[q][w] != 0 {
                            total += a[p][h] * b[q][w] * Double(g[(plane * P + p) * Q + q])
                        }
                    }
                    out[(plane * H + h) * W + w] = Float(total)
                }
            }
        }
        return Tensor(shape: inputShape, scalars: out)
    }

    /// Row `o` holds the weight of each input position in output position `o` (two nonzeros at most),
    /// following PyTorch's source-index formula in double precision.
    static func interpolationMatrix(inputSize: Int, outputSize: Int, alignCorners: Bool) -> [[Double]] {
        (0..<outputSize).map { o in
            let source: Double
            if alignCorners {
                source = outputSize > 1 ? Double(o) * Double(inputSize - 1) / Double(outputSize - 1) : 0
            } else {
                source = Swift.max((Double(o) + 0.5) * Double(inputSize) / Double(outputSize) - 0.5, 0)
            }
            var row = [Double](repeating: 0, count: inputSize)
            let lower = Swift.min(Int(source.rounded(.down)), inputSize - 1)
            let fraction = Swift.min(source - Double(lower), 1)
            row[lower] += 1 - fraction
            row[Swift.min(lower + 1, inputSize - 1)] += fraction
            return row
        }
    }
}

extension Reference {
    /// `x` resampled along `axis` by `taps` (`Tensor.resampled`): every output element summed in
    /// double over the dense weights of its row, with no shortcuts.
    public static func resample(_ x: Tensor, axis: Int, taps: ResampleTaps) -> Tensor {
        let length = x.shape[axis], outputSize = taps.outputSize
        let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
        var dense = [[Double]](repeating: [Double](repeating: 0, count: length), count: outputSize)
        for p in 0..<outputSize {
            for j in 0..<taps.counts[p] { dense[p][taps.starts[p] + j] += Double(taps.weights[p * taps.maximumTaps + j]) }
        }
        let input = x.toArray()
        var out = [Float](repeating: 0, count: outer * outputSize * inner)
        for o in 0..<outer {
            for p in 0..<outputSize {
                for i in 0..<inner {
                    var total: Double = 0
                    for l in 0..<length { total += dense[p][l] * Double(input[(o * length + l) * inner + i]) }
                    out[(o * outputSize + p) * inner + i] = Float(total)
                }
            }
        }
        var shape = x.shape
        shape[axis] = outputSize
        return Tensor(shape: shape, scalars: out)
    }
}
