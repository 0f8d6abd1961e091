import Tensors

/// A non-learnable tensor a module owns (PyTorch's `register_buffer`): running statistics,
/// counters, position ids. A box whose `value` changes in place; never part of an autograd graph.
///
/// Persistent buffers are in the state dict; non-persistent ones (`persistent: false`, e.g. Hugging
/// Face BERT's `position_ids`) are rebuilt by the module's `init` and are not saved or loaded.
public final class Buffer: TensorBox {
    /// The values; always detached from autograd.
    public var value: Tensor {
        didSet { if value.gradientNode != nil { value = value.detached() } }
    }

    /// Whether this buffer is part of the state dict.
    public let isPersistent: Bool

    public init(_ value: Tensor, persistent: Bool = true) {
        self.value = value.detached()
        self.isPersistent = persistent
    }
}

extension Buffer: CustomStringConvertible {
    public var description: String { "Buffer(\(value.dtype), shape: \(value.shape)\(isPersistent ? "" : ", non-persistent"))" }
}
