#if arch(x86_64)
import CKernelsAVX2
import KernelsAVX2
#endif

extension Tensor {
    /// Dynamically quantized linear layer over the last axis:
    /// `relu?(residual + dequantize(q(x) · Wqᵀ) + bias)` with x [..., in], W [out, in], bias and
    /// residual [..., out] shaped like the result.
    ///
    /// Each row of x is quantized symmetrically to int8 at run time (scale = max|row| / 127), the
    /// products are summed exactly in int32, and the epilogue scales each sum back by its row's
    /// scale times its channel's scale, then adds the bias, the residual and applies ReLU, while the
    /// sums are in registers. The result is float32: the dequantized value of what ran.
    /// Records no gradient: layers call it only when no autograd graph is being recorded.
    public static func linear(_ x: Tensor, quantizedWeight weight: QuantizedMatrix, bias: Tensor?, relu: Bool = false,
                              adding residual: Tensor? = nil, kernel: QuantizedKernel = .preferred,
                              pool: ThreadPool = .current) -> Tensor {
        precondition(x.dtype == .float32 && x.rank >= 1 && x.shape.last == weight.columns,
                     "linear: input \(x.dtype) \(x.shape) does not match the quantized weight [\(weight.rows), \(weight.columns)]")
        precondition(bias == nil || (bias!.shape == [weight.rows] && bias!.dtype == .float32),
                     "linear: bias must be float32 [\(weight.rows)]")
        let outputShape = Array(x.shape.dropLast()) + [weight.rows]
        precondition(residual == nil || (residual!.shape == outputShape && residual!.dtype == .float32),
                     "linear: residual must be float32 \(outputShape)")
        let rows = outputShape.dropLast().reduce(1, *), depth = weight.columns, outputs = weight.rows
        let out = residual?.detachedCopy() ?? Tensor(uninitializedShape: outputShape)
        if rows == 0 || outputs == 0 { return out }
        // q(x): int16 rows of even length (the kernels read k in pairs), and one scale per row.
        let rowStride = 2 * ((depth + 1) / 2)
        let quantized = UnsafeMutablePointer<Int16>.allocate(capacity: Swift.max(rows * rowStride, 1))
        let rowScales = UnsafeMutablePointer<Float>.allocate(capacity: rows)
        defer { quantized.deallocate(); rowScales.deallocate() }
        x.withFloats { px in
            pool.parallelChunks(rows, minimumChunk: 16) { range in
                quantizeRows(range, depth: depth, x: px.baseAddress!, output: quantized, outputRowStride: rowStride,
                             scales: rowScales, kernel: kernel)
            }
        }
        let c = out.mutableFloatPointer
        func run(_ biasPointer: UnsafePointer<Float>?) {
            weight.scales.withUnsafeBufferPointer { channelScales in
                switch kernel {
                case .avx2:
                    #if arch(x86_64)
                    let panels = weight.avx2Panels()
                    let panelCount = (outputs + 7) / 8, panelBlocks = (panelCount + 7) / 8
                    let rowBlock = 48, rowBlocks = (rows + rowBlock - 1) / rowBlock
                    pool.parallelFor(rowBlocks * panelBlocks) { task in
                        let first = task / panelBlocks * rowBlock, panelBegin = task % panelBlocks * 8
                        periscope_qgemm_avx2(Swift.min(rowBlock, rows - first), rowStride / 2, quantized + first * rowStride, rowStride,
                                             rowScales + first, panels, panelBegin, Swift.min(panelBegin + 8, panelCount),
                                             channelScales.baseAddress, biasPointer, outputs, c + first * outputs, outputs,
                                             residual == nil ? 0 : 1, relu ? 1 : 0)
                    }
                    #else
                    preconditionFailure("QuantizedKernel: avx2 exists only on x86-64")
                    #endif
                case .portable:
                    weight.values.withUnsafeBufferPointer { values in
                        pool.parallelChunks(rows) { range in
                            for i in range {
                                for j in 0..<outputs {
                                    var sum: Int32 = 0
                                    for k in 0..<depth { sum &+= Int32(quantized[i * rowStride + k]) &* Int32(values[j * depth + k]) }
                                    var value = Float(sum) * (rowScales[i] * channelScales[j])
                                    if let biasPointer { value = value + biasPointer[j] }
                                    if residual != nil { value = c[i * outputs + j] + value }
                                    if relu { value = value > 0 ? value : 0 }
                                    c[i * outputs + j] = value
                                }
                            }
                        }
                    }
                }
            }
        }
        withExtendedLifetime(out) {
            if let bias { bias.withFloats { run($0.baseAddress!) } } else { run(nil) }
        }
        return out
    }

    /// Quantizes rows `range` of x [rows, depth] into int16 values (see `linear(_:quantizedWeight:…)`).
    private static func quantizeRows(_ range: Range<Int>, depth: Int, x: UnsafePointer<Float>, output: UnsafeMutablePointer<Int16>,
                                     outputRowStride: Int, scales: UnsafeMutablePointer<Float>, kernel: QuantizedKernel) {
        #if arch(x86_64)
        if kernel == .avx2 {
            quantizeRowsAVX2(rows: range.count, depth: depth, x: x + range.lowerBound * depth, xRowStride: depth,
                             output: output + range.lowerBound * outputRowStride, outputRowStride: outputRowStride,
                             scales: scales + range.lowerBound)
            return
        }
        #endif
        for i in range {
            let row = UnsafeBufferPointer(start: x + i * depth, count: depth)
            let (scale, inverse) = symmetricScale(row)
            scales[i] = scale
            let target = output + i * outputRowStride
            for k in 0..<depth { target[k] = quantizeSymmetric(row[k], inverse: inverse) }
            for k in depth..<outputRowStride { target[k] = 0 }
        }
    }
}
