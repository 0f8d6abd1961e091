#if arch(x86_64)
import CKernelsAVX512
#endif

extension Tensor {
    /// Linear layer over the last axis in bfloat16: `relu?(residual + bf16(x) · bf16(W)ᵀ + bias)` with
    /// x [..., in], W [out, in] (converted and packed at load), bias and residual [..., out] shaped like
    /// the result.
    ///
    /// The rows of x are converted to bf16 (round to nearest even) once per call, the products are
    /// summed in float32 by `vdpbf16ps`, and the bias, residual and ReLU are applied while the sums
    /// are in registers. The result is float32. Records no gradient: layers call it only when no
    /// autograd graph is being recorded. Needs `BFloat16GEMM.isAvailable` (never emulated).
    public static func linear(_ x: Tensor, bfloat16Weight weight: BFloat16Matrix, bias: Tensor?, relu: Bool = false,
                              adding residual: Tensor? = nil, pool: ThreadPool = .current) -> Tensor {
        precondition(x.dtype == .float32 && x.rank >= 1 && x.shape.last == weight.columns,
                     "linear: input \(x.dtype) \(x.shape) does not match the bfloat16 weight [\(weight.rows), \(weight.columns)]")
        precondition(bias == nil || (bias!.shape == [weight.rows] && bias!.dtype == .float32),
                     "linear: bias must be float32 [\(weight.rows)]")
        let outputShape = Array(x.shape.dropLast()) + [weight.rows]
        precondition(residual == nil || (residual!.shape == outputShape && residual!.dtype == .float32),
                     "linear: residual must be float32 \(outputShape)")
        let rows = outputShape.dropLast().reduce(1, *), depth = weight.columns, outputs = weight.rows
        let out = residual?.detachedCopy() ?? Tensor(uninitializedShape: outputShape)
        if rows == 0 || outputs == 0 { return out }
        #if arch(x86_64)
        // bf16(x): rows of whole pairs (zero past K), converted once for every tile that reads them.
        let pairs = (depth + 1) / 2, rowStride = 2 * pairs
        let converted = UnsafeMutablePointer<UInt16>.allocate(capacity: Swift.max(rows * rowStride, 2))
        defer { converted.deallocate() }
        x.withFloats { px in
            pool.parallelChunks(rows, minimumChunk: 16) { range in
                periscope_bf16_convert_rows(px.baseAddress! + range.lowerBound * depth, range.count, depth, depth,
                                            converted + range.lowerBound * rowStride, rowStride)
            }
        }
        let blocking = BFloat16Blocking(rows: rows, pairs: pairs, panels: weight.panelCount, threads: pool.threadCount)
        let c = out.mutableFloatPointer
        func run(_ biasPointer: UnsafePointer<Float>?) {
            pool.parallelFor(blocking.rowBlocks * blocking.panelBlocks) { task in
                let first = task / blocking.panelBlocks * blocking.rowBlock
                let panelBegin = task % blocking.panelBlocks * blocking.panelBlock
                periscope_bf16_gemm(Swift.min(blocking.rowBlock, rows - first), pairs, converted + first * rowStride, rowStride,
                                    weight.panels.base, panelBegin, Swift.min(panelBegin + blocking.panelBlock, weight.panelCount),
                                    blocking.panelBlock, biasPointer, outputs, c + first * outputs, outputs,
                                    residual == nil ? 0 : 1, relu ? 1 : 0)
            }
        }
        withExtendedLifetime((out, weight)) {
            if let bias { bias.withFloats { run($0.baseAddress!) } } else { run(nil) }
        }
        #else
        preconditionFailure("linear: bfloat16 exists only on x86-64 (ComputePrecision.unavailableReason)")
        #endif
        return out
    }
}
