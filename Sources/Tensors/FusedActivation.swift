/// The activation a convolution or GEMM applies to its result while it is still in cache
/// (the epilogue), instead of a separate pass over the whole output.
public enum FusedActivation: Sendable, Equatable {
    case none
    /// max(x, 0).
    case relu
    /// x · sigmoid(x) (`VectorMath.silu`: the same values as `Tensor.silu()` on the unfused result).
    case silu
}

/// x ← silu(x) over `rows` × `columns` of a row-major block whose rows are `rowStride` apart:
/// the SiLU of a GEMM or convolution epilogue, run on a block just written (still in L1/L2).
/// Each element gets exactly `VectorMath.silu`'s value, tails included (the scalar form runs the
/// same vector code).
func applySiLU(_ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rowStride: Int) {
    typealias Vector = VectorMath.Vector
    for i in 0..<rows {
        let row = c + i * rowStride
        var j = 0
        while j + Vector.scalarCount <= columns {
            let pointer = UnsafeMutableRawPointer(row + j)
            pointer.storeBytes(of: VectorMath.silu(pointer.loadUnaligned(as: Vector.self)), as: Vector.self)
            j += Vector.scalarCount
        }
        while j < columns {
            row[j] = VectorMath.silu(row[j])
            j += 1
        }
    }
}
