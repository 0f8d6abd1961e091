extension Reference {
    /// Linear layer in bfloat16, as `Tensor.linear(_:bfloat16Weight:…)` defines it, from float32
    /// x [..., in] and W [out, in]: both rounded to bf16 (`bfloat16Bits`), then per output
    /// `s = 0; for each pair q: s = s + x[2q+1]·w[2q+1]; s = s + x[2q]·w[2q]` in float32 (each bf16
    /// product is exact in float32; this is `vdpbf16ps`'s order), `v = s; v = v + bias;
    /// v = residual + v; relu (v > 0 ? v : 0)`.
    public static func bfloat16Linear(_ x: Tensor, weight: Tensor, bias: Tensor?, relu: Bool = false, adding residual: Tensor? = nil) -> Tensor {
        let depth = weight.shape[1], outputs = weight.shape[0]
        let rows = x.shape.dropLast().reduce(1, *)
        let input = x.toArray().map(bfloat16Rounded), w = weight.toArray().map(bfloat16Rounded)
        let b = bias?.toArray(), prior = residual?.toArray()
        var out = [Float](repeating: 0, count: rows * outputs)
        for i in 0..<rows {
            for j in 0..<outputs {
                func product(_ k: Int) -> Float { k < depth ? input[i * depth + k] * w[j * depth + k] : 0 }
                var sum: Float = 0
                for q in 0..<(depth + 1) / 2 {
                    sum = sum + product(2 * q + 1)
                    sum = sum + product(2 * q)
                }
                var value = sum
                if let b { value = value + b[j] }
                if let prior { value = prior[i * outputs + j] + value }
                if relu { value = value > 0 ? value : 0 }
                out[i * outputs + j] = value
            }
        }
        return Tensor(shape: Array(x.shape.dropLast()) + [outputs], scalars: out)
    }

    /// The bfloat16 bit pattern of a float32 as `vcvtneps2bf16` computes it: a zero or denormal
    /// becomes a zero of its sign, ±inf stays, a NaN keeps its sign and top bits and is made quiet
    /// (bit 6), anything else is rounded to nearest even (an overflow rounds to ±inf).
    public static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isZero || value.isSubnormal { return UInt16(bits >> 16) & 0x8000 }
        if value.isInfinite { return UInt16(bits >> 16) }
        if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ roundingBias) >> 16)
    }

    /// The float32 value of `bfloat16Bits(value)`.
    public static func bfloat16Rounded(_ value: Float) -> Float {
        Float(bitPattern: UInt32(bfloat16Bits(value)) << 16)
    }
}
