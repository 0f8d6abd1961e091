import VectorMath

/// The activation a convolution or GEMM applies to its result while it is still in cache
/// (the epilogue), instead of a separate pass over the whole output.
public enum FusedActivation: Sendable, Equatable {
    case none
    /// max(x, 0).
    case relu
    /// x · sigmoid(x) (`VectorMath.silu`: the same values as `Tensor.silu()` on the unfused result).
    case silu
    /// GELU (`VectorMath.geluErf` / `geluTanh`: the same values as `Tensor.gelu(approximation:)`).
    case gelu(GELUApproximation)

    /// The activation of one element, exactly as the vector code computes it.
    func callAsFunction(_ x: Float) -> Float {
        switch self {
        case .none: x
        case .relu: x > 0 ? x : (x.isNaN ? x : 0)
        case .silu: VectorMath.silu(x)
        case .gelu(.none): VectorMath.geluErf(x)
        case .gelu(.tanh): VectorMath.geluTanh(x)
        }
    }
}

/// x ← activation(x) over `rows` × `columns` of a row-major block whose rows are `rowStride` apart:
/// the SiLU or GELU of a GEMM or convolution epilogue, run on a block just written (still in
/// L1/L2). Each element gets exactly `VectorMath`'s value, tails included. The element functions
/// go through the specialized elementwise run: a closure here was compiled as a call per vector
/// with its SIMD16 argument split into 128-bit halves (4× the work, a quarter of EfficientNet-B0).
func applyBlockActivation(_ activation: FusedActivation, _ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rowStride: Int) {
    switch activation {
    case .none, .relu:
        preconditionFailure("applyBlockActivation: \(activation) is applied by the micro-kernels")
    case .silu:
        applyToBlock(SiLUOperation(), c, rows: rows, columns: columns, rowStride: rowStride)
    case .gelu(let approximation):
        applyToBlock(GELUOperation(approximation: approximation), c, rows: rows, columns: columns, rowStride: rowStride)
    }
}

@inline(__always)
private func applyToBlock<Operation: UnaryFloatOperation>(_ operation: Operation, _ c: UnsafeMutablePointer<Float>,
                                                           rows: Int, columns: Int, rowStride: Int) {
    // A block whose rows touch is one long run: one partial vector at its end, not one per row.
    if rowStride == columns {
        unaryRun(operation, out: c, x: c, count: rows * columns)
        return
    }
    for i in 0..<rows {
        unaryRun(operation, out: c + i * rowStride, x: c + i * rowStride, count: columns)
    }
}
