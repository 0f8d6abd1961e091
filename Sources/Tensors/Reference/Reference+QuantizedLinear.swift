extension Reference {
    /// Dynamically quantized linear layer, as `Tensor.linear(_:quantizedWeight:…)` defines it, from
    /// float32 x [..., in] and W [out, in]: W quantized per row and x per row, symmetric int8
    /// (scale = max|row| / 127, values rounded half to even), each row of x first without its outlier
    /// features (`ActivationOutliers`), Int32 sums, then
    /// `v = Float(sum) · (rowScale · channelScale); v = v + bias; v = residual + v;`
    /// `v = v + x_k · (Float(Wq[j, k]) · channelScale)` for each outlier k in increasing order; relu.
    public static func quantizedLinear(_ x: Tensor, weight: Tensor, bias: Tensor?, relu: Bool = false, adding residual: Tensor? = nil) -> Tensor {
        let depth = weight.shape[1], outputs = weight.shape[0]
        let rows = x.shape.dropLast().reduce(1, *)
        var input = x.toArray()
        let w = weight.toArray(), b = bias?.toArray(), prior = residual?.toArray()
        let (qw, channelScales) = quantizeRowsSymmetric(w, rows: outputs, columns: depth)
        let outliers = (0..<rows).map { activationOutliers(Array(input[$0 * depth..<($0 + 1) * depth])) }
        for i in 0..<rows { for (k, _) in outliers[i] { input[i * depth + k] = 0 } }
        let (qx, rowScales) = quantizeRowsSymmetric(input, rows: rows, columns: depth)
        var out = [Float](repeating: 0, count: rows * outputs)
        for i in 0..<rows {
            for j in 0..<outputs {
                var sum: Int32 = 0
                for k in 0..<depth { sum += qx[i * depth + k] * qw[j * depth + k] }
                var value = Float(sum) * (rowScales[i] * channelScales[j])
                if let b { value = value + b[j] }
                if let prior { value = prior[i * outputs + j] + value }
                for (k, feature) in outliers[i] { value = value + feature * (Float(qw[j * depth + k]) * channelScales[j]) }
                if relu { value = value > 0 ? value : 0 }
                out[i * outputs + j] = value
            }
        }
        return Tensor(shape: Array(x.shape.dropLast()) + [outputs], scalars: out)
    }

    /// The outlier features of one row and their values, in increasing feature order, by
    /// `ActivationOutliers`' rule: candidates |q_k| with q_k² · K > α² · Σq², the `limit` largest |x_k|.
    static func activationOutliers(_ row: [Float]) -> [(feature: Int, value: Float)] {
        let (q, _) = quantizeRowsSymmetric(row, rows: 1, columns: row.count)
        let sumOfSquares = q.reduce(0) { $0 + Int($1) * Int($1) }
        let candidates = row.indices.filter { Int(q[$0]) * Int(q[$0]) * row.count > ActivationOutliers.thresholdSquared * sumOfSquares }
        let largest = candidates.sorted { abs(row[$0]) != abs(row[$1]) ? abs(row[$0]) > abs(row[$1]) : $0 < $1 }
        return largest.prefix(ActivationOutliers.limit).sorted().map { ($0, row[$0]) }
    }

    /// Symmetric int8 quantization of each row of a [rows, columns] matrix, and the row scales.
    static func quantizeRowsSymmetric(_ values: [Float], rows: Int, columns: Int) -> (values: [Int32], scales: [Float]) {
        var quantized = [Int32](repeating: 0, count: rows * columns), scales = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            var largest: Float = 0
            for c in 0..<columns { largest = Swift.max(largest, abs(values[r * columns + c])) }
            scales[r] = largest / 127
            let inverse: Float = largest > 0 ? 127 / largest : 0
            for c in 0..<columns {
                let q = (values[r * columns + c] * inverse).rounded(.toNearestOrEven)
                quantized[r * columns + c] = Int32(Swift.min(Swift.max(q, -127), 127))
            }
        }
        return (quantized, scales)
    }
}
