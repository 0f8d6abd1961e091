// Matrix products on tensors: matmul (2-D and batched, with transposed operands) and linear.

extension Tensor {
    /// `op(a) · op(b)` over the last two axes; leading (batch) axes broadcast.
    /// `transposeA`/`transposeB` use the transpose of the last two axes without copying.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.dtype == .float32 && b.dtype == .float32, "matmul: float32 operands expected, got \(a.dtype) and \(b.dtype)")
        precondition(a.rank >= 2 && b.rank >= 2, "matmul: operands need rank ≥ 2, got \(a.shape) and \(b.shape)")
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let m = transposeA ? ac : ar, k = transposeA ? ar : ac
        let kb = transposeB ? bc : br, n = transposeB ? br : bc
        precondition(k == kb, "matmul: shapes \(a.shape) and \(b.shape) do not match (K \(k) vs \(kb); transposeA \(transposeA), transposeB \(transposeB))")
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch = broadcastShape(batchA, batchB)
        let batchCount = batch.reduce(1, *)
        let out = Tensor(uninitializedShape: batch + [m, n])
        let stridesA = broadcastStrides(batchA, to: batch), stridesB = broadcastStrides(batchB, to: batch)
        let outPointer = out.storage.base.assumingMemoryBound(to: Float.self)
        // Many small products (attention heads): run them side by side, one per thread, rather
        // than splitting each one between the threads.
        let pool = ThreadPool.current, threads = pool.threadCount
        let sideBySide = threads > 1 && batchCount >= threads && (batchCount % threads == 0 || batchCount >= 4 * threads)
        a.withFloats { pa in
            b.withFloats { pb in
                func multiply(_ index: Int, _ pool: ThreadPool) {
                    var rest = index, offsetA = 0, offsetB = 0
                    for axis in stride(from: batch.count - 1, through: 0, by: -1) {
                        let i = rest % batch[axis]; rest /= batch[axis]
                        offsetA += i * stridesA[axis]; offsetB += i * stridesB[axis]
                    }
                    gemm(m: m, n: n, k: k,
                         a: pa.baseAddress! + offsetA * ar * ac, lda: Swift.max(ac, 1), transposeA: transposeA,
                         b: pb.baseAddress! + offsetB * br * bc, ldb: Swift.max(bc, 1), transposeB: transposeB,
                         c: outPointer + index * m * n, ldc: Swift.max(n, 1), pool: pool)
                }
                if sideBySide {
                    pool.parallelFor(batchCount) { multiply($0, gemmSerialPool) }
                } else {
                    for index in 0..<batchCount { multiply(index, pool) }
                }
            }
        }
        return out.recordingGradient("matmul", inputs: [a, b]) { g, needs in
            let ad = a.detached(), bd = b.detached()
            // d op(A) = G · op(B)ᵀ ; d op(B) = op(A)ᵀ · G, then undo the transposes.
            var gradA: Tensor?, gradB: Tensor?
            if needs[0] {
                gradA = reduceBroadcast(transposeA ? matmul(bd, g, transposeA: transposeB, transposeB: true)
                                                   : matmul(g, bd, transposeB: !transposeB), to: a.shape)
            }
            if needs[1] {
                gradB = reduceBroadcast(transposeB ? matmul(g, ad, transposeA: true, transposeB: transposeA)
                                                   : matmul(ad, g, transposeA: !transposeA), to: b.shape)
            }
            return [gradA, gradB]
        }
    }

    /// `x · weightᵀ + bias` over the last axis: x [..., in], weight [out, in], bias [out].
    ///
    /// Without autograd recording the bias is added in the GEMM's epilogue; for a constant weight
    /// prefer `linear(_:packedWeight:bias:relu:)`, which never repacks it.
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(weight.rank == 2 && x.shape.last == weight.shape[1],
                     "linear: input \(x.shape) does not match weight \(weight.shape) (last axis vs in_features)")
        if let bias {
            precondition(bias.shape == [weight.shape[0]], "linear: bias \(bias.shape) does not match weight \(weight.shape)")
        }
        if !shouldRecord(x, weight, bias) && x.dtype == .float32 && weight.dtype == .float32 {
            return linearProduct(x, weight: .matrix(weight.rawPointer.assumingMemoryBound(to: Float.self),
                                                    leadingDimension: Swift.max(weight.shape[1], 1), transposed: true),
                                 outFeatures: weight.shape[0], bias: bias, relu: false, keepAlive: weight)
        }
        let flat = x.reshaped([-1, weight.shape[1]])
        var out = matmul(flat, weight, transposeB: true)
        if let bias { out = out + bias }
        return out.reshaped(Array(x.shape.dropLast()) + [weight.shape[0]])
    }

    /// Inference linear layer with a weight packed once: relu?(x · Wᵀ + bias) over the last axis.
    /// x [..., in], `packedWeight` built from W [out, in] (`PackedMatrix(weight)`), bias [out].
    /// Gradients flow to the input and the bias, not to the weight (the packed copy is detached).
    public static func linear(_ x: Tensor, packedWeight: PackedMatrix, bias: Tensor?, relu: Bool = false) -> Tensor {
        precondition(x.shape.last == packedWeight.columns,
                     "linear: input \(x.shape) does not match weight [\(packedWeight.rows), \(packedWeight.columns)] (last axis vs in_features)")
        if let bias {
            precondition(bias.shape == [packedWeight.rows], "linear: bias \(bias.shape) does not match weight [\(packedWeight.rows), \(packedWeight.columns)]")
        }
        let out = linearProduct(x, weight: .packed(packedWeight, transposed: true), outFeatures: packedWeight.rows,
                                bias: bias, relu: relu, keepAlive: packedWeight.source)
        var inputs = [x]
        if let bias { inputs.append(bias) }
        return out.recordingGradient(relu ? "linear_relu" : "linear", inputs: inputs) { gradient, needs in
            // y = relu?(x·Wᵀ + b): dx = g'·W, db = Σ g' over rows, with g' = g where y > 0 under ReLU.
            let masked = relu ? broadcastBinary(gradient, out) { g, y in y > 0 ? g : 0 } : gradient
            let outFeatures = packedWeight.rows, inFeatures = packedWeight.columns
            let rows = x.count / Swift.max(inFeatures, 1)
            var inputGradient: Tensor?
            if needs[0] {
                let result = Tensor(zeros: x.shape)
                if rows > 0 && inFeatures > 0 && outFeatures > 0 {
                    masked.withFloats { g in
                        gemm(m: rows, n: inFeatures, k: outFeatures, a: .matrix(g.baseAddress!, leadingDimension: outFeatures),
                             b: .packed(packedWeight), c: result.mutableFloatPointer, ldc: inFeatures)
                    }
                }
                inputGradient = result
            }
            let biasGradient = bias != nil && needs[1] ? masked.reshaped([rows, outFeatures]).sum(axes: [0]) : nil
            return [inputGradient] + (bias != nil ? [biasGradient] : [])
        }
    }

    /// Inference linear layer with GELU in the GEMM epilogue: gelu(x · Wᵀ + bias), each block of the
    /// output activated right after it is computed, while it is still in cache. The values equal
    /// `linear(x, packedWeight:, bias:).gelu(approximation:)` exactly. Records no gradient: callers
    /// use it only when nothing is being recorded (`Tensor.shouldRecord`).
    public static func linear(_ x: Tensor, packedWeight: PackedMatrix, bias: Tensor?, gelu approximation: GELUApproximation) -> Tensor {
        linear(x, packedWeight: packedWeight, bias: bias, activation: .gelu(approximation))
    }

    /// residual + x · Wᵀ + bias as one GEMM accumulating into a copy of `residual` (the output's shape,
    /// [..., out]): a residual join with no pass of its own. Records no gradient, like the GELU form.
    public static func linear(_ x: Tensor, packedWeight: PackedMatrix, bias: Tensor?, adding residual: Tensor) -> Tensor {
        let outFeatures = packedWeight.rows, inFeatures = packedWeight.columns
        precondition(x.dtype == .float32 && x.shape.last == inFeatures,
                     "linear: input \(x.dtype) \(x.shape) does not match weight [\(outFeatures), \(inFeatures)] (last axis vs in_features)")
        precondition(bias == nil || bias!.shape == [outFeatures], "linear: bias does not match weight [\(outFeatures), \(inFeatures)]")
        precondition(residual.dtype == .float32 && residual.shape == Array(x.shape.dropLast()) + [outFeatures],
                     "linear: residual \(residual.dtype) \(residual.shape) must be float32 \(Array(x.shape.dropLast()) + [outFeatures])")
        let out = residual.detachedCopy()
        let rows = x.count / Swift.max(inFeatures, 1)
        if rows == 0 || outFeatures == 0 { return out }
        x.withFloats { px in
            func run(_ bias: UnsafePointer<Float>?) {
                gemm(m: rows, n: outFeatures, k: inFeatures, a: .matrix(px.baseAddress!, leadingDimension: Swift.max(inFeatures, 1)),
                     b: .packed(packedWeight, transposed: true), c: out.mutableFloatPointer, ldc: Swift.max(outFeatures, 1),
                     accumulate: true, epilogue: GEMMEpilogue(columnBias: bias))
            }
            if let bias { bias.withFloats { run($0.baseAddress!) } } else { run(nil) }
        }
        return out
    }

    /// Inference linear layer with any activation in the GEMM epilogue: activation(x · Wᵀ + bias)
    /// (also a 1×1 convolution on channels-last data). Records no gradient, like the GELU form.
    public static func linear(_ x: Tensor, packedWeight: PackedMatrix, bias: Tensor?, activation: FusedActivation) -> Tensor {
        precondition(x.shape.last == packedWeight.columns,
                     "linear: input \(x.shape) does not match weight [\(packedWeight.rows), \(packedWeight.columns)] (last axis vs in_features)")
        precondition(bias == nil || bias!.shape == [packedWeight.rows], "linear: bias does not match weight [\(packedWeight.rows), \(packedWeight.columns)]")
        return linearProduct(x, weight: .packed(packedWeight, transposed: true), outFeatures: packedWeight.rows,
                             bias: bias, activation: activation, keepAlive: packedWeight.source)
    }

    /// x [..., in] · op(W) [in, out] (+ bias, activation in the epilogue) → [..., out].
    private static func linearProduct(_ x: Tensor, weight: GEMMOperand, outFeatures: Int, bias: Tensor?, relu: Bool,
                                      keepAlive: Tensor) -> Tensor {
        linearProduct(x, weight: weight, outFeatures: outFeatures, bias: bias, activation: relu ? .relu : .none, keepAlive: keepAlive)
    }

    private static func linearProduct(_ x: Tensor, weight: GEMMOperand, outFeatures: Int, bias: Tensor?, activation: FusedActivation,
                                      keepAlive: Tensor) -> Tensor {
        precondition(x.dtype == .float32, "linear: float32 input expected, got \(x.dtype)")
        precondition(bias == nil || bias!.dtype == .float32, "linear: float32 bias expected")
        let inFeatures = x.shape.last!
        let rows = x.count / Swift.max(inFeatures, 1)
        let out = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [outFeatures])
        let outPointer = out.storage.base.assumingMemoryBound(to: Float.self)
        withExtendedLifetime(keepAlive) {
            x.withFloats { px in
                func run(_ columnBias: UnsafePointer<Float>?) {
                    gemm(m: rows, n: outFeatures, k: inFeatures, a: .matrix(px.baseAddress!, leadingDimension: Swift.max(inFeatures, 1)),
                         b: weight, c: outPointer, ldc: Swift.max(outFeatures, 1),
                         epilogue: GEMMEpilogue(columnBias: columnBias, activation: activation))
                }
                if let bias { bias.withFloats { run($0.baseAddress!) } } else { run(nil) }
            }
        }
        return out
    }
}
