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
/// L1/L2). Each element gets exactly `VectorMath`'s value, tails included (the scalar forms run the
/// same vector code).
func applyBlockActivation(_ activation: FusedActivation, _ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rowStride: Int) {
    switch activation {
    case .none, .relu:
        preconditionFailure("applyBlockActivation: \(activation) is applied by the micro-kernels")
    case .silu:
        applyToBlock(c, rows: rows, columns: columns, rowStride: rowStride) { VectorMath.silu($0) } scalar: { VectorMath.silu($0) }
    case .gelu(.none):
        applyToBlock(c, rows: rows, columns: columns, rowStride: rowStride) { VectorMath.geluErf($0) } scalar: { VectorMath.geluErf($0) }
    case .gelu(.tanh):
        applyToBlock(c, rows: rows, columns: columns, rowStride: rowStride) { VectorMath.geluTanh($0) } scalar: { VectorMath.geluTanh($0) }
    }
}

@inline(__always)
private func applyToBlock(_ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rowStride: Int,
                          _ vector: (VectorMath.Vector) -> VectorMath.Vector, scalar: (Float) -> Float) {
    typealias Vector = VectorMath.Vector
    for i in 0..<rows {
        let row = c + i * rowStride
        var j = 0
        while j + Vector.scalarCount <= columns {
            let pointer = UnsafeMutableRawPointer(row + j)
            pointer.storeBytes(of: vector(pointer.loadUnaligned(as: Vector.self)), as: Vector.self)
            j += Vector.scalarCount
        }
        while j < columns {
            row[j] = scalar(row[j])
            j += 1
        }
    }
}
