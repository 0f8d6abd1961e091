import Tensors

/// A learnable tensor of a module (PyTorch's `nn.Parameter`): a box whose `value` changes in
/// place, so `loadStateDict`, `to(_:)` and `resetParameters()` keep the property's identity.
///
/// Like PyTorch, a floating-point parameter requires gradients by default: its `value` is an
/// autograd leaf owned by this parameter. Assigning a new value keeps that contract — the incoming
/// tensor's graph is cut (`detached()`) and a fresh leaf is attached — so a loaded weight never
/// drags another replica's graph along. Serving runs under `GradMode.withDisabled`, where the
/// leaf costs nothing.
public final class Parameter: TensorBox {
    /// The values. Assignments are detached from any graph and become this parameter's leaf.
    public var value: Tensor {
        didSet { adoptValue() }
    }

    /// Whether gradients accumulate into this parameter (only floating-point values can).
    public var requiresGrad: Bool {
        didSet { adoptValue() }
    }

    /// The leaf node this parameter attached to `value`, to tell it from a foreign node.
    private var leaf: GradientNode?

    public init(_ value: Tensor, requiresGrad: Bool = true) {
        self.value = value
        self.requiresGrad = requiresGrad
        adoptValue()
    }

    /// The gradient accumulated by `backward()`, if any.
    public var grad: Tensor? { value.grad }

    /// Makes `value` this parameter's own leaf (or untracked): never a node built elsewhere.
    private func adoptValue() {
        if requiresGrad && value.dtype.isFloatingPoint {
            if leaf == nil || value.gradientNode !== leaf {
                var tensor = value.detached()
                tensor.requiresGrad = true
                // Built without autograd (PERISCOPE_NO_AUTOGRAD) there is no leaf to attach.
                guard tensor.requiresGrad else { return }
                leaf = tensor.gradientNode
                value = tensor
            }
        } else if value.gradientNode != nil || leaf != nil {
            leaf = nil
            value = value.detached()
        }
    }
}

extension Parameter: CustomStringConvertible {
    public var description: String { "Parameter(\(value.dtype), shape: \(value.shape))" }
}
