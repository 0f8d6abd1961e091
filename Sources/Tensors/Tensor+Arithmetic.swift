// Elementwise arithmetic with broadcasting, and scalar forms. The work happens in
// `elementwiseBinary` / `elementwiseUnary` (Kernels/ElementwiseKernels.swift); the naive twins
// are `Reference.binary` / `Reference.unary`.

extension Tensor {
    /// `operation` over the broadcast of `lhs` and `rhs` into a new float32 tensor.
    static func broadcasting<Operation: BinaryFloatOperation>(_ operation: Operation, _ lhs: Tensor, _ rhs: Tensor,
                                                              name: String) -> Tensor {
        precondition(lhs.dtype == .float32 && rhs.dtype == .float32,
                     "\(name): float32 operands expected, got \(lhs.dtype) \(lhs.shape) and \(rhs.dtype) \(rhs.shape)")
        let layout = BroadcastLayout(lhs.shape, rhs.shape)
        let out = Tensor(uninitializedShape: layout.outputShape)
        lhs.withFloats { a in
            rhs.withFloats { b in
                guard let a = a.baseAddress, let b = b.baseAddress else { return }
                elementwiseBinary(operation, out: out.mutableFloatPointer, a: a, b: b, layout: layout)
            }
        }
        return out
    }

    /// `operation` applied to every element into a new float32 tensor.
    func applying<Operation: UnaryFloatOperation>(_ operation: Operation, name: String) -> Tensor {
        precondition(dtype == .float32, "\(name): float32 tensor expected, got \(dtype) \(shape)")
        let out = Tensor(uninitializedShape: shape)
        withFloats { x in
            guard let x = x.baseAddress else { return }
            elementwiseUnary(operation, out: out.mutableFloatPointer, x: x, count: count)
        }
        return out
    }

    /// The float32 elements of a tensor this op just allocated (so nothing else sees the writes).
    var mutableFloatPointer: UnsafeMutablePointer<Float> {
        (storage.base + byteOffset).assumingMemoryBound(to: Float.self)
    }

    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
        broadcasting(AddOperation(), lhs, rhs, name: "add").recordingGradient("add", inputs: [lhs, rhs]) { g, needs in
            [needs[0] ? reduceBroadcast(g, to: lhs.shape) : nil, needs[1] ? reduceBroadcast(g, to: rhs.shape) : nil]
        }
    }

    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor {
        broadcasting(SubtractOperation(), lhs, rhs, name: "sub").recordingGradient("sub", inputs: [lhs, rhs]) { g, needs in
            [needs[0] ? reduceBroadcast(g, to: lhs.shape) : nil, needs[1] ? reduceBroadcast(-g, to: rhs.shape) : nil]
        }
    }

    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor {
        broadcasting(MultiplyOperation(), lhs, rhs, name: "mul").recordingGradient("mul", inputs: [lhs, rhs]) { g, needs in
            [needs[0] ? reduceBroadcast(g * rhs.detached(), to: lhs.shape) : nil,
             needs[1] ? reduceBroadcast(g * lhs.detached(), to: rhs.shape) : nil]
        }
    }

    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor {
        broadcasting(DivideOperation(), lhs, rhs, name: "div").recordingGradient("div", inputs: [lhs, rhs]) { g, needs in
            let r = rhs.detached()
            return [needs[0] ? reduceBroadcast(g / r, to: lhs.shape) : nil,
                    needs[1] ? reduceBroadcast(-(g * lhs.detached()) / (r * r), to: rhs.shape) : nil]
        }
    }

    public static prefix func - (operand: Tensor) -> Tensor {
        operand.applying(AffineOperation(scale: -1, shift: 0), name: "neg")
            .recordingGradient("neg", inputs: [operand]) { g in [-g] }
    }

    public static func + (lhs: Tensor, rhs: Float) -> Tensor {
        lhs.applying(AffineOperation(scale: 1, shift: rhs), name: "add_scalar")
            .recordingGradient("add_scalar", inputs: [lhs]) { g in [g] }
    }
    public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs + (-rhs) }
    public static func * (lhs: Tensor, rhs: Float) -> Tensor {
        lhs.applying(AffineOperation(scale: rhs, shift: 0), name: "mul_scalar")
            .recordingGradient("mul_scalar", inputs: [lhs]) { g in [g * rhs] }
    }
    /// True division by `rhs` (as PyTorch; not multiplication by the rounded reciprocal).
    public static func / (lhs: Tensor, rhs: Float) -> Tensor {
        lhs.applying(DivideByScalarOperation(divisor: rhs), name: "div_scalar")
            .recordingGradient("div_scalar", inputs: [lhs]) { g in [g / rhs] }
    }
    public static func + (lhs: Float, rhs: Tensor) -> Tensor { rhs + lhs }
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs * lhs }
    public static func - (lhs: Float, rhs: Tensor) -> Tensor {
        rhs.applying(AffineOperation(scale: -1, shift: lhs), name: "rsub_scalar")
            .recordingGradient("rsub_scalar", inputs: [rhs]) { g in [-g] }
    }

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
