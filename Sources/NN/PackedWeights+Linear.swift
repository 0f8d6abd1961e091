import Tensors

extension PackedWeights {
    /// The cache kind of a linear weight computing in `precision` (a new precision is a new entry).
    public static func linearKind(_ base: String, precision: ComputePrecision) -> String {
        precision == .float32 ? base : "\(base) \(precision)"
    }

    /// `relu?(x · Wᵀ + bias)` (+ `residual`) over the last axis with this weight, in int8 when the
    /// weight is quantized, in bfloat16 when it is converted, else with the packed float32 GEMM.
    /// Inference only (no gradient reaches W).
    public func linear(_ x: Tensor, bias: Tensor?, relu: Bool = false, adding residual: Tensor? = nil) -> Tensor {
        if let quantized { return Tensor.linear(x, quantizedWeight: quantized, bias: bias, relu: relu, adding: residual) }
        if let bfloat16 { return Tensor.linear(x, bfloat16Weight: bfloat16, bias: bias, relu: relu, adding: residual) }
        if let residual {
            precondition(!relu, "PackedWeights.linear: float32 adds a residual without ReLU")
            return Tensor.linear(x, packedWeight: matrix, bias: bias, adding: residual)
        }
        return Tensor.linear(x, packedWeight: matrix, bias: bias, relu: relu)
    }

    /// `gelu(x · Wᵀ + bias)` with this weight and its own bias: float32 applies GELU in the GEMM's
    /// epilogue block by block, int8 in one pass with the bias after the product. The same values
    /// as the unfused layers. Inference only.
    public func linearGELU(_ x: Tensor, approximation: GELUApproximation) -> Tensor {
        if quantized == nil && bfloat16 == nil { return Tensor.linear(x, packedWeight: matrix, bias: bias, gelu: approximation) }
        let product = linear(x, bias: nil)
        return bias.map { product.gelu(addingBias: $0, approximation: approximation) } ?? product.gelu(approximation: approximation)
    }
}

extension PackedWeights.Payload {
    /// A linear layer's weight [out, in] and bias, packed for float32 and, for int8, also quantized
    /// per output channel; for bfloat16, also converted to bf16 and packed (the float32 panels are
    /// then never built: `PackedMatrix` packs on first use).
    public static func linear(weight: Tensor, bias: Tensor?, precision: ComputePrecision) -> Self {
        precondition(precision != .bfloat16 || precision.unavailableReason == nil,
                     "PackedWeights: no bfloat16 linear kernel here: \(precision.unavailableReason ?? "")")
        return Self(matrix: PackedMatrix(weight), bias: bias, quantized: precision == .int8 ? QuantizedMatrix(weight) : nil,
                    bfloat16: precision == .bfloat16 ? BFloat16Matrix(weight) : nil)
    }
}
