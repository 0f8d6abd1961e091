/// One input of `gemm`: a row-major matrix in memory, or a `PackedMatrix`, used as is or transposed.
///
/// For A the operand is op(A) [M×K]; for B it is op(B) [K×N]. `transposed` means the memory
/// holds the transpose (A stored K×M, B stored N×K), as BLAS's `transa`/`transb`.
public struct GEMMOperand {
    let pointer: UnsafePointer<Float>
    let leadingDimension: Int
    let transposed: Bool
    let packed: PackedMatrix?

    /// A matrix at `pointer` whose rows are `leadingDimension` floats apart. Must outlive the call.
    public static func matrix(_ pointer: UnsafePointer<Float>, leadingDimension: Int, transposed: Bool = false) -> GEMMOperand {
        GEMMOperand(pointer: pointer, leadingDimension: leadingDimension, transposed: transposed, packed: nil)
    }

    /// A pre-packed constant matrix X: the operand is X, or Xᵀ when `transposed`.
    public static func packed(_ matrix: PackedMatrix, transposed: Bool = false) -> GEMMOperand {
        GEMMOperand(pointer: matrix.pointer, leadingDimension: max(matrix.columns, 1), transposed: transposed, packed: matrix)
    }

    /// Float stride between consecutive elements along the operand's outer dimension
    /// (M for A, N for B) and along its depth K, as the operand of role `isA`.
    func strides(isA: Bool) -> (outer: Int, depth: Int) {
        // A stored M×K (or K×M when transposed); B stored K×N (or N×K).
        if isA { return transposed ? (1, leadingDimension) : (leadingDimension, 1) }
        return transposed ? (leadingDimension, 1) : (1, leadingDimension)
    }
}
