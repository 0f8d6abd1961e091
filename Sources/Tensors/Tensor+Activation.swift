import Foundation
import VectorMath

// Activations. Forward passes run the vectorized kernels (VectorMath, ElementwiseKernels);
// `Reference` has the Foundation-based twins. Backward closures use the scalar derivative below.

/// The two forms of GELU PyTorch offers (`approximate='none' | 'tanh'`).
public enum GELUApproximation: String, Sendable, Codable {
    /// x·Φ(x) with the exact error function.
    case none
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    case tanh
}

extension Tensor {
    /// max(x, 0); NaN stays NaN (as PyTorch).
    public func relu() -> Tensor {
        applying(ReLUOperation(), name: "relu").recordingGradient("relu", inputs: [self]) { [self] g in
            [broadcastBinary(g, self.detached()) { grad, x in x > 0 ? grad : 0 }]
        }
    }

    public func gelu(approximation: GELUApproximation = .none) -> Tensor {
        let out = applying(GELUOperation(approximation: approximation), name: "gelu")
        switch approximation {
        case .none:
            return out.recordingGradient("gelu", inputs: [self]) { [self] g in
                [broadcastBinary(g, self.detached()) { grad, x in grad * geluErfDerivative(x) }]
            }
        case .tanh:
            return out.recordingGradient("gelu_tanh", inputs: [self]) { [self] g in
                [broadcastBinary(g, self.detached()) { grad, x in grad * geluTanhDerivative(x) }]
            }
        }
    }

    /// gelu(self + bias) in one pass, `bias` along the last axis (a linear layer's bias followed
    /// by GELU, as in BERT's and ViT's MLP).
    public func gelu(addingBias bias: Tensor, approximation: GELUApproximation = .none) -> Tensor {
        precondition(dtype == .float32 && bias.dtype == .float32,
                     "gelu(addingBias:): float32 expected, got \(dtype) \(shape) and bias \(bias.dtype) \(bias.shape)")
        precondition(rank >= 1 && bias.shape == [shape[rank - 1]],
                     "gelu(addingBias:): bias \(bias.shape) must match the last axis of input \(shape)")
        let columns = shape.last ?? 1
        let out = Tensor(uninitializedShape: shape)
        withFloats { x in
            bias.withFloats { b in
                guard let x = x.baseAddress, let b = b.baseAddress else { return }
                biasActivationKernel(GELUOperation(approximation: approximation), out: out.mutableFloatPointer,
                                     x: x, bias: b, rows: count / Swift.max(columns, 1), columns: columns)
            }
        }
        let exact = approximation == GELUApproximation.none
        return out.recordingGradient(exact ? "bias_gelu" : "bias_gelu_tanh", inputs: [self, bias]) { [self] g in
            let z = broadcastBinary(self.detached(), bias.detached(), +)
            let gz = broadcastBinary(g, z) { grad, x in grad * (exact ? geluErfDerivative(x) : geluTanhDerivative(x)) }
            return [gz, reduceBroadcast(gz, to: bias.shape)]
        }
    }

    public func sigmoid() -> Tensor {
        let out = applying(SigmoidOperation(), name: "sigmoid")
        return out.recordingGradient("sigmoid", inputs: [self]) { g in
            [broadcastBinary(g, out) { grad, s in grad * s * (1 - s) }]
        }
    }

    public func silu() -> Tensor {
        applying(SiLUOperation(), name: "silu").recordingGradient("silu", inputs: [self]) { [self] g in
            [broadcastBinary(g, self.detached()) { grad, x in
                let s = 1 / (1 + Foundation.exp(-x))
                return grad * s * (1 + x * (1 - s))
            }]
        }
    }

    public func tanh() -> Tensor {
        let out = applying(TanhOperation(), name: "tanh")
        return out.recordingGradient("tanh", inputs: [self]) { g in
            [broadcastBinary(g, out) { grad, t in grad * (1 - t * t) }]
        }
    }

    /// The error function (an ONNX export's exact GELU is Div, Erf, Add, Mul, Mul).
    public func erf() -> Tensor {
        applying(ErfOperation(), name: "erf").recordingGradient("erf", inputs: [self]) { [self] g in
            [broadcastBinary(g, self.detached()) { grad, x in grad * 1.1283791670955126 * Foundation.exp(-x * x) }]
        }
    }

    public func exp() -> Tensor {
        let out = applying(ExpOperation(), name: "exp")
        return out.recordingGradient("exp", inputs: [self]) { g in [g * out] }
    }

    public func sqrt() -> Tensor {
        let out = applying(SquareRootOperation(), name: "sqrt")
        return out.recordingGradient("sqrt", inputs: [self]) { g in [g / (out * 2)] }
    }
}

@inline(__always) func geluErfDerivative(_ x: Float) -> Float {
    let cdf = 0.5 * (1 + erf(x * 0.70710678118654752))
    let pdf = Foundation.exp(-0.5 * x * x) * 0.3989422804014327
    return cdf + x * pdf
}

@inline(__always) func geluTanhDerivative(_ x: Float) -> Float {
    let inner = 0.7978845608028654 * (x + 0.044715 * x * x * x)
    let t = Foundation.tanh(inner)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * x * x)
}
