import VectorMath

/// What the GEMM does to each element of C after the product:
/// `C = activation(product (+ C) + rowBias[i] + columnBias[j])`. The biases and ReLU are applied by
/// the micro-kernels while C is in registers; SiLU and GELU (transcendental, `VectorMath`) to each
/// block of C right after its last depth step, while it is still in L1/L2 (`applyBlockActivation`).
///
/// Conv + folded BatchNorm + ReLU uses a row bias (one per output channel, rows of the NCHW
/// product) and `relu`; linear + bias uses a column bias (one per output feature).
public struct GEMMEpilogue {
    /// M values: `rowBias[i]` is added to every element of row i. Must outlive the call.
    public var rowBias: UnsafePointer<Float>?
    /// N values: `columnBias[j]` is added to every element of column j. Must outlive the call.
    public var columnBias: UnsafePointer<Float>?
    /// Applied after the biases.
    public var activation: FusedActivation

    public init(rowBias: UnsafePointer<Float>? = nil, columnBias: UnsafePointer<Float>? = nil, activation: FusedActivation = .none) {
        self.rowBias = rowBias
        self.columnBias = columnBias
        self.activation = activation
    }

    public init(rowBias: UnsafePointer<Float>? = nil, columnBias: UnsafePointer<Float>? = nil, relu: Bool) {
        self.init(rowBias: rowBias, columnBias: columnBias, activation: relu ? .relu : .none)
    }

    /// Plain product: no bias, no activation.
    public static var none: GEMMEpilogue { GEMMEpilogue() }

    /// Clamp at zero after the biases (in the micro-kernels).
    var relu: Bool { activation == .relu }

    /// An activation applied block by block after the micro-kernels (`applyBlockActivation`).
    var blockActivation: FusedActivation? { activation == .none || activation == .relu ? nil : activation }

    var isNone: Bool { rowBias == nil && columnBias == nil && activation == .none }

    /// The same epilogue for the transposed product Cᵀ.
    var transposed: GEMMEpilogue { GEMMEpilogue(rowBias: columnBias, columnBias: rowBias, activation: activation) }
}
