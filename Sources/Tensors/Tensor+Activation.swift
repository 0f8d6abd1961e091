import Foundation

/// The two forms of GELU PyTorch offers (`approximate='none' | 'tanh'`).
public enum GELUApproximation: String, Sendable, Codable {
    /// x·Φ(x) with the exact error function.
    case none
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    case tanh
}

extension Tensor {
    public func relu() -> Tensor {
        map { $0 > 0 ? $0 : 0 }.recordingGradient("relu", inputs: [self]) { [self] g in
            [broadcastBinary(g, self.detached()) { grad, x in x > 0 ? grad : 0 }]
        }
    }

    /// ReLU written into this tensor's storage (PyTorch's `inplace=True`); copies first if the
    /// storage is shared, so a captured tensor is never changed behind its owner's back.
    public mutating func reluInPlace() {
        mapInPlace { $0 > 0 ? $0 : 0 }
    }

    public func gelu(approximation: GELUApproximation = .none) -> Tensor {
        switch approximation {
        case .none:
            return map { geluErf($0) }.recordingGradient("gelu", inputs: [self]) { [self] g in
                [broadcastBinary(g, self.detached()) { grad, x in grad * geluErfDerivative(x) }]
            }
        case .tanh:
            return map { geluTanh($0) }.recordingGradient("gelu_tanh", inputs: [self]) { [self] g in
                [broadcastBinary(g, self.detached()) { grad, x in grad * geluTanhDerivative(x) }]
            }
        }
    }

    public func sigmoid() -> Tensor {
        let out = map { 1 / (1 + Foundation.exp(-$0)) }
        return out.recordingGradient("sigmoid", inputs: [self]) { g in
            [broadcastBinary(g, out) { grad, s in grad * s * (1 - s) }]
        }
    }

    public func silu() -> Tensor {
        map { $0 / (1 + Foundation.exp(-$0)) }.recordingGradient("silu", inputs: [self]) { [self] g in
            [broadcastBinary(g, self.detached()) { grad, x in
                let s = 1 / (1 + Foundation.exp(-x))
                return grad * s * (1 + x * (1 - s))
            }]
        }
    }

    public func tanh() -> Tensor {
        let out = map { Foundation.tanh($0) }
        return out.recordingGradient("tanh", inputs: [self]) { g in
            [broadcastBinary(g, out) { grad, t in grad * (1 - t * t) }]
        }
    }

    public func exp() -> Tensor {
        let out = map { Foundation.exp($0) }
        return out.recordingGradient("exp", inputs: [self]) { g in [g * out] }
    }

    public func sqrt() -> Tensor {
        let out = map { Foundation.sqrt($0) }
        return out.recordingGradient("sqrt", inputs: [self]) { g in [g / (out * 2)] }
    }
}

@inline(__always) func geluErf(_ x: Float) -> Float { 0.5 * x * (1 + erf(x * 0.70710678118654752)) }

@inline(__always) func geluErfDerivative(_ x: Float) -> Float {
    let cdf = 0.5 * (1 + erf(x * 0.70710678118654752))
    let pdf = Foundation.exp(-0.5 * x * x) * 0.3989422804014327
    return cdf + x * pdf
}

@inline(__always) func geluTanh(_ x: Float) -> Float {
    0.5 * x * (1 + Foundation.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
}

@inline(__always) func geluTanhDerivative(_ x: Float) -> Float {
    let inner = 0.7978845608028654 * (x + 0.044715 * x * x * x)
    let t = Foundation.tanh(inner)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * x * x)
}
