import Foundation

// Elementwise ops, one output element at a time.

extension Reference {
    /// `operation(a, b)` over the broadcast of the two shapes.
    public static func binary(_ a: Tensor, _ b: Tensor, _ operation: (Float, Float) -> Float) -> Tensor {
        let shape = broadcastShape(a.shape, b.shape)
        let x = a.toArray(), y = b.toArray()
        var out = [Float](repeating: 0, count: Tensor.elementCount(shape))
        for i in out.indices {
            let index = multiIndex(i, in: shape)
            out[i] = operation(x[broadcastSource(index, from: a.shape)], y[broadcastSource(index, from: b.shape)])
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// `transform` applied to every element.
    public static func unary(_ x: Tensor, _ transform: (Float) -> Float) -> Tensor {
        Tensor(shape: x.shape, scalars: x.toArray().map(transform))
    }

    public static func relu(_ x: Tensor) -> Tensor { unary(x) { $0 < 0 ? 0 : $0 } }

    public static func gelu(_ x: Tensor, approximation: GELUApproximation = .none) -> Tensor {
        switch approximation {
        case .none: unary(x) { 0.5 * $0 * (1 + Foundation.erf($0 * 0.70710678118654752)) }
        case .tanh: unary(x) { 0.5 * $0 * (1 + Foundation.tanh(0.7978845608028654 * ($0 + 0.044715 * $0 * $0 * $0))) }
        }
    }

    public static func sigmoid(_ x: Tensor) -> Tensor { unary(x) { 1 / (1 + Foundation.exp(-$0)) } }
    public static func silu(_ x: Tensor) -> Tensor { unary(x) { $0 / (1 + Foundation.exp(-$0)) } }
    public static func tanh(_ x: Tensor) -> Tensor { unary(x) { Foundation.tanh($0) } }
    public static func exp(_ x: Tensor) -> Tensor { unary(x) { Foundation.exp($0) } }
    public static func sqrt(_ x: Tensor) -> Tensor { unary(x) { Foundation.sqrt($0) } }

    /// gelu(x + bias) with `bias` along the last axis.
    public static func geluAddingBias(_ x: Tensor, bias: Tensor, approximation: GELUApproximation) -> Tensor {
        gelu(binary(x, bias, +), approximation: approximation)
    }
}
