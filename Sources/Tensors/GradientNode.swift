/// One node of the autograd graph: either a leaf that accumulates the gradient of a tensor with
/// `requiresGrad`, or the record of an op with the function that maps the gradient of its output
/// to gradients of its inputs.
///
/// A graph is built and consumed on one thread (see `Tensor`), hence `@unchecked Sendable`.
public final class GradientNode: @unchecked Sendable {
    /// The op that produced the tensor (`"leaf"` for leaves), for debugging and errors.
    public let operation: String
    /// The nodes of the op's inputs, in argument order; nil where an input is not tracked.
    public internal(set) var inputs: [GradientNode?]
    /// Maps the gradient of the output to one gradient per input (nil where none flows).
    /// Nil for leaves. Released after `backward()` unless the graph is retained.
    public internal(set) var backwardFunction: ((Tensor) -> [Tensor?])?
    /// The accumulated gradient (leaves, or nodes asked to retain it).
    public internal(set) var grad: Tensor?
    /// Hooks run on the gradient flowing into this node; each may replace it.
    public internal(set) var gradientHooks: [(id: Int, hook: (Tensor) -> Tensor?)] = []

    public var isLeaf: Bool { operation == "leaf" }

    public init(operation: String, inputs: [GradientNode?], backward: ((Tensor) -> [Tensor?])?) {
        self.operation = operation
        self.inputs = inputs
        self.backwardFunction = backward
    }

    static func leaf() -> GradientNode { GradientNode(operation: "leaf", inputs: [], backward: nil) }
}

extension Tensor {
    /// True when this tensor takes part in autograd (a leaf with `requiresGrad` or an op result
    /// computed from one while recording).
    public var requiresGrad: Bool {
        get { gradientNode != nil }
        set {
            if newValue {
                if gradientNode == nil { gradientNode = .leaf() }
            } else {
                precondition(gradientNode?.isLeaf ?? true,
                             "requiresGrad = false on a non-leaf tensor; use detached() instead")
                gradientNode = nil
            }
        }
    }

    /// The gradient accumulated into this tensor's node by `backward()`.
    public var grad: Tensor? { gradientNode?.grad }

    /// Whether an op with these inputs must record a node (recording on and an input tracked).
    /// Overloads instead of variadics: the check must cost nothing when nothing is tracked.
    @inlinable public static func shouldRecord(_ a: Tensor) -> Bool {
        a.gradientNode != nil && GradMode.isEnabled
    }
    @inlinable public static func shouldRecord(_ a: Tensor, _ b: Tensor) -> Bool {
        (a.gradientNode != nil || b.gradientNode != nil) && GradMode.isEnabled
    }
    @inlinable public static func shouldRecord(_ a: Tensor, _ b: Tensor, _ c: Tensor?) -> Bool {
        (a.gradientNode != nil || b.gradientNode != nil || c?.gradientNode != nil) && GradMode.isEnabled
    }
    @inlinable public static func shouldRecord(_ tensors: [Tensor]) -> Bool {
        tensors.contains { $0.gradientNode != nil } && GradMode.isEnabled
    }

    /// Returns this tensor with a node recording `operation` when any of `inputs` is tracked and
    /// recording is on; otherwise returns it unchanged (and `backward` is never called).
    ///
    /// Ops whose backward is not implemented pass `nil`: recording through them then stops the
    /// gradient with a clear error at `backward()` time instead of silently returning zeros.
    public func recordingGradient(_ operation: String, inputs: [Tensor],
                                  backward: ((Tensor) -> [Tensor?])?) -> Tensor {
        guard Tensor.shouldRecord(inputs) else { return self }
        var result = self
        result.gradientNode = GradientNode(operation: operation, inputs: inputs.map(\.gradientNode), backward: backward)
        return result
    }
}
