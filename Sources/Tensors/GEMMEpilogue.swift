/// What the GEMM does to each element of C after the product, while C is still in registers:
/// `C = relu?(product (+ C) + rowBias[i] + columnBias[j])`; or SiLU instead of ReLU, applied to each
/// block of C right after its last depth step (still in L1/L2; see `applySiLU`).
///
/// Conv + folded BatchNorm + ReLU uses a row bias (one per output channel, rows of the NCHW
/// product) and `relu`; linear + bias uses a column bias (one per output feature).
public struct GEMMEpilogue {
    /// M values: `rowBias[i]` is added to every element of row i. Must outlive the call.
    public var rowBias: UnsafePointer<Float>?
    /// N values: `columnBias[j]` is added to every element of column j. Must outlive the call.
    public var columnBias: UnsafePointer<Float>?
    /// Clamp at zero after the biases.
    public var relu: Bool
    /// x · sigmoid(x) after the biases (not with `relu`).
    public var silu: Bool

    public init(rowBias: UnsafePointer<Float>? = nil, columnBias: UnsafePointer<Float>? = nil, relu: Bool = false, silu: Bool = false) {
        precondition(!(relu && silu), "GEMMEpilogue: ReLU or SiLU, not both")
        self.rowBias = rowBias
        self.columnBias = columnBias
        self.relu = relu
        self.silu = silu
    }

    /// Biases and `activation`.
    public init(rowBias: UnsafePointer<Float>? = nil, columnBias: UnsafePointer<Float>? = nil, activation: FusedActivation) {
        self.init(rowBias: rowBias, columnBias: columnBias, relu: activation == .relu, silu: activation == .silu)
    }

    /// Plain product: no bias, no activation.
    public static var none: GEMMEpilogue { GEMMEpilogue() }

    var isNone: Bool { rowBias == nil && columnBias == nil && !relu && !silu }

    /// The same epilogue for the transposed product Cᵀ.
    var transposed: GEMMEpilogue { GEMMEpilogue(rowBias: columnBias, columnBias: rowBias, relu: relu, silu: silu) }
}
