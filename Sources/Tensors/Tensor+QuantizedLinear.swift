#if arch(x86_64)
import CKernelsAVX2
import CKernelsAVX512
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
    /// sums are in registers. A row's few outlier features (`ActivationOutliers`) are left out of its
    /// int8 quantization and multiplied in float32 by the dequantized weights, added before ReLU.
    /// The result is float32: the dequantized value of what ran.
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
        let outliers = RowOutliers(rows: rows)
        defer { quantized.deallocate(); rowScales.deallocate() }
        x.withFloats { px in
            pool.parallelChunks(rows, minimumChunk: 16) { range in
                quantizeRows(range, depth: depth, x: px.baseAddress!, output: quantized, outputRowStride: rowStride,
                             scales: rowScales, outliers: outliers, kernel: kernel)
            }
        }
        // ReLU comes after the outliers' float32 products: the kernels apply it only when there are none.
        let hasOutliers = outliers.any
        let kernelReLU = relu && !hasOutliers
        let c = out.mutableFloatPointer
        func run(_ biasPointer: UnsafePointer<Float>?) {
            weight.scales.withUnsafeBufferPointer { channelScales in
                switch kernel {
                case .avx512vnni:
                    #if arch(x86_64)
                    // The same quantized rows, narrowed to int8 in rows of whole quads, with their sums.
                    let narrowStride = 4 * ((depth + 3) / 4)
                    let narrowed = UnsafeMutablePointer<Int8>.allocate(capacity: rows * narrowStride)
                    let rowSums = UnsafeMutablePointer<Int32>.allocate(capacity: rows)
                    defer { narrowed.deallocate(); rowSums.deallocate() }
                    pool.parallelChunks(rows, minimumChunk: 64) { range in
                        periscope_qgemm_vnni_narrow(range.count, depth, quantized + range.lowerBound * rowStride, rowStride,
                                                    narrowed + range.lowerBound * narrowStride, narrowStride, rowSums + range.lowerBound)
                    }
                    let panels = weight.vnniPanels()
                    forEachBlock(rows: rows, panels: (outputs + 15) / 16, pool: pool) { first, count, panelBegin, panelEnd in
                        periscope_qgemm_vnni(count, narrowStride / 4, narrowed + first * narrowStride, narrowStride,
                                             rowSums + first, rowScales + first, panels, panelBegin, panelEnd,
                                             channelScales.baseAddress, biasPointer, outputs, c + first * outputs, outputs,
                                             residual == nil ? 0 : 1, kernelReLU ? 1 : 0)
                    }
                    #else
                    preconditionFailure("QuantizedKernel: avx512vnni exists only on x86-64")
                    #endif
                case .avx2:
                    #if arch(x86_64)
                    let panels = weight.avx2Panels()
                    forEachBlock(rows: rows, panels: (outputs + 7) / 8, pool: pool) { first, count, panelBegin, panelEnd in
                        periscope_qgemm_avx2(count, rowStride / 2, quantized + first * rowStride, rowStride,
                                             rowScales + first, panels, panelBegin, panelEnd,
                                             channelScales.baseAddress, biasPointer, outputs, c + first * outputs, outputs,
                                             residual == nil ? 0 : 1, kernelReLU ? 1 : 0)
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
                                    if kernelReLU { value = value > 0 ? value : 0 }
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
            if hasOutliers { addOutlierProducts(outliers, weight: weight, relu: relu, c: c, rows: rows, pool: pool) }
        }
        return out
    }

    /// Splits the product into tasks of up to 48 rows × 8 weight panels (a block of panels stays in
    /// L2 while the row tiles sweep it) and runs them on the pool: `body(firstRow, rowCount, panelBegin, panelEnd)`.
    private static func forEachBlock(rows: Int, panels: Int, pool: ThreadPool, _ body: (Int, Int, Int, Int) -> Void) {
        let rowBlock = 48, rowBlocks = (rows + rowBlock - 1) / rowBlock, panelBlocks = (panels + 7) / 8
        pool.parallelFor(rowBlocks * panelBlocks) { task in
            let first = task / panelBlocks * rowBlock, panelBegin = task % panelBlocks * 8
            body(first, Swift.min(rowBlock, rows - first), panelBegin, Swift.min(panelBegin + 8, panels))
        }
    }

    /// C[i, j] += x_k · (W[j, k] dequantized) for each outlier (k, x_k) of row i, in increasing k, then
    /// ReLU on every row when asked (the kernels left it out because some row has outliers).
    private static func addOutlierProducts(_ outliers: RowOutliers, weight: QuantizedMatrix, relu: Bool, c: UnsafeMutablePointer<Float>,
                                           rows: Int, pool: ThreadPool) {
        let outputs = weight.rows
        weight.columnValues.withUnsafeBufferPointer { columns in
            weight.scales.withUnsafeBufferPointer { scales in
                pool.parallelChunks(rows, minimumChunk: 16) { range in
                    for i in range {
                        let row = c + i * outputs
                        for slot in 0..<outliers.count(row: i) {
                            let (feature, value) = outliers[i, slot]
                            let column = columns.baseAddress! + feature * outputs
                            for j in 0..<outputs { row[j] = row[j] + value * (Float(column[j]) * scales[j]) }
                        }
                        if relu { for j in 0..<outputs { row[j] = row[j] > 0 ? row[j] : 0 } }
                    }
                }
            }
        }
    }

    /// Quantizes rows `range` of x [rows, depth] into int16 values (see `linear(_:quantizedWeight:…)`),
    /// taking each row's outlier features out (`ActivationOutliers`) into `outliers`.
    private static func quantizeRows(_ range: Range<Int>, depth: Int, x: UnsafePointer<Float>, output: UnsafeMutablePointer<Int16>,
                                     outputRowStride: Int, scales: UnsafeMutablePointer<Float>, outliers: RowOutliers,
                                     kernel: QuantizedKernel) {
        let sums = UnsafeMutablePointer<Int32>.allocate(capacity: range.count)
        var scratch: UnsafeMutablePointer<Float>?
        defer { sums.deallocate(); scratch?.deallocate() }
        quantizeRowsSymmetric(range, depth: depth, x: x, xRowStride: depth, output: output, outputRowStride: outputRowStride,
                              scales: scales, sumsOfSquares: sums - range.lowerBound, kernel: kernel)
        for i in range {
            let q = output + i * outputRowStride
            let sumOfSquares = Int(sums[i - range.lowerBound])
            guard ActivationOutliers.rowMayHaveOutliers(sumOfSquares: sumOfSquares, depth: depth) else { continue }
            // The candidates of largest magnitude (ties: the lower feature), kept sorted by insertion
            // in the row's slots: at most `limit`, no allocation per row.
            let row = x + i * depth
            var count = 0
            let threshold = ActivationOutliers.smallestCandidate(sumOfSquares: sumOfSquares, depth: depth)
            for k in candidateFeatures(q, depth: depth, threshold: threshold) {
                let magnitude = abs(row[k])
                var slot = count
                while slot > 0 && abs(outliers[i, slot - 1].value) < magnitude { slot -= 1 }
                if slot == ActivationOutliers.limit { continue }
                var last = Swift.min(count, ActivationOutliers.limit - 1)
                while last > slot { outliers.copy(row: i, from: last - 1, to: last); last -= 1 }
                outliers.set(row: i, slot: slot, feature: k, value: row[k])
                count = Swift.min(count + 1, ActivationOutliers.limit)
            }
            if count == 0 { continue }
            outliers.sortByFeature(row: i, count: count)
            outliers.setCount(row: i, count)
            let copy = scratch ?? UnsafeMutablePointer<Float>.allocate(capacity: depth)
            scratch = copy
            copy.update(from: row, count: depth)
            for slot in 0..<count { copy[outliers[i, slot].feature] = 0 }
            quantizeRowsSymmetric(0..<1, depth: depth, x: copy, xRowStride: depth, output: q, outputRowStride: outputRowStride,
                                  scales: scales + i, sumsOfSquares: nil, kernel: kernel)
        }
    }

    /// The features k < depth of a quantized row with |q_k| ≥ `threshold`, in increasing order; 16
    /// values are compared at a time, and only a block with one is looked at feature by feature.
    private static func candidateFeatures(_ q: UnsafePointer<Int16>, depth: Int, threshold: Int) -> [Int] {
        var features: [Int] = []
        if threshold > 127 { return features }
        let limit = SIMD16<Int16>(repeating: Int16(threshold))
        var k = 0
        while k + 16 <= depth {
            let v = UnsafeRawPointer(q + k).loadUnaligned(as: SIMD16<Int16>.self)
            if any(v .>= limit .| (0 &- v) .>= limit) {
                for j in k..<k + 16 where abs(Int(q[j])) >= threshold { features.append(j) }
            }
            k += 16
        }
        for j in k..<depth where abs(Int(q[j])) >= threshold { features.append(j) }
        return features
    }

    /// Quantizes rows `range` of x symmetrically (scale = max|row| / 127) into int16 values and row
    /// scales, and each row's Σq² into `sumsOfSquares[i]` when given.
    private static func quantizeRowsSymmetric(_ range: Range<Int>, depth: Int, x: UnsafePointer<Float>, xRowStride: Int,
                                              output: UnsafeMutablePointer<Int16>, outputRowStride: Int,
                                              scales: UnsafeMutablePointer<Float>, sumsOfSquares: UnsafeMutablePointer<Int32>?,
                                              kernel: QuantizedKernel) {
        #if arch(x86_64)
        if kernel != .portable {
            quantizeRowsAVX2(rows: range.count, depth: depth, x: x + range.lowerBound * xRowStride, xRowStride: xRowStride,
                             output: output + range.lowerBound * outputRowStride, outputRowStride: outputRowStride,
                             scales: scales + range.lowerBound, sumsOfSquares: sumsOfSquares.map { $0 + range.lowerBound })
            return
        }
        #endif
        for i in range {
            let row = UnsafeBufferPointer(start: x + i * xRowStride, count: depth)
            let (scale, inverse) = symmetricScale(row)
            scales[i] = scale
            let target = output + i * outputRowStride
            var squares: Int32 = 0
            for k in 0..<depth {
                target[k] = quantizeSymmetric(row[k], inverse: inverse)
                squares &+= Int32(target[k]) &* Int32(target[k])
            }
            for k in depth..<outputRowStride { target[k] = 0 }
            sumsOfSquares?[i] = squares
        }
    }
}

/// Each row's outlier features and their float32 values, filled by the row quantization (rows are
/// written by one thread each) and read after it.
private final class RowOutliers: @unchecked Sendable {
    private let counts: UnsafeMutablePointer<Int32>
    private let features: UnsafeMutablePointer<Int32>
    private let values: UnsafeMutablePointer<Float>
    private let rows: Int

    init(rows: Int) {
        self.rows = rows
        counts = .allocate(capacity: Swift.max(rows, 1))
        counts.initialize(repeating: 0, count: Swift.max(rows, 1))
        features = .allocate(capacity: Swift.max(rows * ActivationOutliers.limit, 1))
        values = .allocate(capacity: Swift.max(rows * ActivationOutliers.limit, 1))
    }

    deinit {
        counts.deallocate()
        features.deallocate()
        values.deallocate()
    }

    /// True when some row has an outlier.
    var any: Bool { (0..<rows).contains { counts[$0] != 0 } }

    func count(row: Int) -> Int { Int(counts[row]) }

    func setCount(row: Int, _ count: Int) { counts[row] = Int32(count) }

    func set(row: Int, slot: Int, feature: Int, value: Float) {
        features[row * ActivationOutliers.limit + slot] = Int32(feature)
        values[row * ActivationOutliers.limit + slot] = value
    }

    func copy(row: Int, from source: Int, to target: Int) {
        features[row * ActivationOutliers.limit + target] = features[row * ActivationOutliers.limit + source]
        values[row * ActivationOutliers.limit + target] = values[row * ActivationOutliers.limit + source]
    }

    /// Orders a row's first `count` slots by increasing feature (insertion sort: at most `limit`).
    func sortByFeature(row: Int, count: Int) {
        let base = row * ActivationOutliers.limit
        for a in 1..<Swift.max(count, 1) {
            var b = a
            while b > 0 && features[base + b - 1] > features[base + b] {
                swap(&features[base + b - 1], &features[base + b])
                swap(&values[base + b - 1], &values[base + b])
                b -= 1
            }
        }
    }

    subscript(row: Int, slot: Int) -> (feature: Int, value: Float) {
        (Int(features[row * ActivationOutliers.limit + slot]), values[row * ActivationOutliers.limit + slot])
    }
}
