// Elementwise arithmetic with broadcasting, and scalar forms.

extension Tensor {
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
        broadcastBinary(lhs, rhs, +).recordingGradient("add", inputs: [lhs, rhs]) { g in
            [reduceBroadcast(g, to: lhs.shape), reduceBroadcast(g, to: rhs.shape)]
        }
    }

    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor {
        broadcastBinary(lhs, rhs, -).recordingGradient("sub", inputs: [lhs, rhs]) { g in
            [reduceBroadcast(g, to: lhs.shape), reduceBroadcast(-g, to: rhs.shape)]
        }
    }

    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor {
        broadcastBinary(lhs, rhs, *).recordingGradient("mul", inputs: [lhs, rhs]) { g in
            [reduceBroadcast(g * rhs.detached(), to: lhs.shape), reduceBroadcast(g * lhs.detached(), to: rhs.shape)]
        }
    }

    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor {
        broadcastBinary(lhs, rhs, /).recordingGradient("div", inputs: [lhs, rhs]) { g in
            let r = rhs.detached()
            return [reduceBroadcast(g / r, to: lhs.shape),
                    reduceBroadcast(-(g * lhs.detached()) / (r * r), to: rhs.shape)]
        }
    }

    public static prefix func - (operand: Tensor) -> Tensor {
        operand.map { -$0 }.recordingGradient("neg", inputs: [operand]) { g in [-g] }
    }

    public static func + (lhs: Tensor, rhs: Float) -> Tensor {
        lhs.map { $0 + rhs }.recordingGradient("add_scalar", inputs: [lhs]) { g in [g] }
    }
    public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs + (-rhs) }
    public static func * (lhs: Tensor, rhs: Float) -> Tensor {
        lhs.map { $0 * rhs }.recordingGradient("mul_scalar", inputs: [lhs]) { g in [g * rhs] }
    }
    public static func / (lhs: Tensor, rhs: Float) -> Tensor { lhs * (1 / rhs) }
    public static func + (lhs: Float, rhs: Tensor) -> Tensor { rhs + lhs }
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs * lhs }
    public static func - (lhs: Float, rhs: Tensor) -> Tensor { -rhs + lhs }

    /// Applies `transform` to every float32 element (no autograd recording).
    @inline(__always)
    public func map(_ transform: (Float) -> Float) -> Tensor {
        precondition(dtype == .float32, "map: float32 tensor expected, got \(dtype)")
        var out = Tensor(uninitializedShape: shape)
        let count = self.count
        out.withMutableFloats { o in
            withFloats { x in
                let src = x.baseAddress, dst = o.baseAddress
                guard let src, let dst else { return }
                for i in 0..<count { dst[i] = transform(src[i]) }
            }
        }
        return out
    }

    /// Applies `transform` to every float32 element in place (copy-on-write; no autograd).
    @inline(__always)
    public mutating func mapInPlace(_ transform: (Float) -> Float) {
        precondition(gradientNode == nil || !GradMode.isEnabled, "in-place op on a tensor that requires grad")
        withMutableFloats { o in
            for i in o.indices { o[i] = transform(o[i]) }
        }
    }
}
