// In-place forms for the hot paths of a forward pass (residual adds, ReLU after them, scaling).
//
// Copy-on-write holds: the storage is written in place only when this tensor value is its only
// owner and it is writable; a captured feature or a weight sharing the storage is copied first,
// so no other value ever changes. While autograd records (a tracked operand and grad mode on),
// these fall back to the out-of-place op and rebind the variable, so gradients stay correct.

extension Tensor {
    /// `lhs = lhs + rhs`, in place when possible; `rhs` must broadcast to `lhs`'s shape.
    public static func += (lhs: inout Tensor, rhs: Tensor) {
        lhs.formInPlace(AddOperation(), rhs, name: "+=") { $0 + $1 }
    }

    /// `lhs = lhs − rhs`, in place when possible; `rhs` must broadcast to `lhs`'s shape.
    public static func -= (lhs: inout Tensor, rhs: Tensor) {
        lhs.formInPlace(SubtractOperation(), rhs, name: "-=") { $0 - $1 }
    }

    /// `lhs = lhs · rhs`, in place when possible; `rhs` must broadcast to `lhs`'s shape.
    public static func *= (lhs: inout Tensor, rhs: Tensor) {
        lhs.formInPlace(MultiplyOperation(), rhs, name: "*=") { $0 * $1 }
    }

    /// `lhs = lhs · rhs`, in place when possible.
    public static func *= (lhs: inout Tensor, rhs: Float) {
        lhs.formInPlace(AffineOperation(scale: rhs, shift: 0), name: "*=") { $0 * rhs }
    }

    /// `lhs = lhs + rhs`, in place when possible.
    public static func += (lhs: inout Tensor, rhs: Float) {
        lhs.formInPlace(AffineOperation(scale: 1, shift: rhs), name: "+=") { $0 + rhs }
    }

    /// ReLU written into this tensor's storage (PyTorch's `inplace=True`); copies first if the
    /// storage is shared, so a captured tensor is never changed behind its owner's back.
    public mutating func reluInPlace() {
        formInPlace(ReLUOperation(), name: "relu_") { $0.relu() }
    }

    /// `self = relu(self + other)` in one pass (a ResNet block's residual join).
    public mutating func addReLUInPlace(_ other: Tensor) {
        formInPlace(AddReLUOperation(), other, name: "add_relu_") { ($0 + $1).relu() }
    }

    /// relu(lhs + rhs) in one pass into a new tensor (a residual join whose operands stay alive).
    public static func addingReLU(_ lhs: Tensor, _ rhs: Tensor) -> Tensor {
        if Tensor.shouldRecord(lhs, rhs) { return (lhs + rhs).relu() }
        return broadcasting(AddReLUOperation(), lhs, rhs, name: "add_relu")
    }

    // MARK: - Helpers

    mutating func formInPlace<Operation: BinaryFloatOperation>(_ operation: Operation, _ rhs: Tensor, name: String,
                                                               fallback: (Tensor, Tensor) -> Tensor) {
        if Tensor.shouldRecord(self, rhs) {
            self = fallback(self, rhs)
            return
        }
        precondition(dtype == .float32 && rhs.dtype == .float32,
                     "\(name): float32 operands expected, got \(dtype) \(shape) and \(rhs.dtype) \(rhs.shape)")
        let layout = BroadcastLayout(shape, rhs.shape)
        precondition(layout.outputShape == shape,
                     "\(name): \(rhs.shape) does not broadcast to the shape of the tensor updated in place \(shape)")
        withMutableFloats { out in
            rhs.withFloats { b in
                guard let o = out.baseAddress, let b = b.baseAddress else { return }
                elementwiseBinary(operation, out: o, a: o, b: b, layout: layout)
            }
        }
    }

    mutating func formInPlace<Operation: UnaryFloatOperation>(_ operation: Operation, name: String,
                                                              fallback: (Tensor) -> Tensor) {
        if Tensor.shouldRecord(self) {
            self = fallback(self)
            return
        }
        precondition(dtype == .float32, "\(name): float32 tensor expected, got \(dtype) \(shape)")
        let count = self.count
        withMutableFloats { out in
            guard let o = out.baseAddress else { return }
            elementwiseUnary(operation, out: o, x: o, count: count)
        }
    }
}
