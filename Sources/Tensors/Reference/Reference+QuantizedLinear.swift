extension Reference {
    /// Dynamically quantized linear layer, as `Tensor.linear(_:quantizedWeight:…)` defines it, from
    /// float32 x [..., in] and W [out, in]: W quantized per row and x per row, symmetric int8
    /// (scale = max|row| / 127, values rounded half to even), Int32 sums, then
    /// `v = Float(sum) · (rowScale · channelScale); v = v + bias; v = residual + v; relu`.
    public static func quantizedLinear(_ x: Tensor, weight: Tensor, bias: Tensor?, relu: Bool = false, adding residual: Tensor? = nil) -> Tensor {
        let depth = weight.shape[1], outputs = weight.shape[0]
        let rows = x.shape.dropLast().reduce(1, *)
        let input = x.toArray(), w = weight.toArray(), b = bias?.toArray(), prior = residual?.toArray()
        let (qw, channelScales) = quantizeRowsSymmetric(w, rows: outputs, columns: depth)
        let (qx, rowScales) = quantizeRowsSymmetric(input, rows: rows, columns: depth)
        var out = [Float](repeating: 0, count: rows * outputs)
        for i in 0..<rows {
            for j in 0..<outputs {
                var sum: Int32 = 0
                for k in 0..<depth { sum += qx[i * depth + k] * qw[j * depth + k] }
                var value = Float(sum) * (rowScales[i] * channelScales[j])
                if let b { value = value + b[j] }
                if let prior { value = prior[i * outputs + j] + value }
                if relu { value = value > 0 ? value : 0 }
                out[i * outputs + j] = value
            }
        }
        return Tensor(shape: Array(x.shape.dropLast()) + [outputs], scalars: out)
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
