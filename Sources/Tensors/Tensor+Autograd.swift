import Synchronization

// The autograd surface of `Tensor`: tracking (`requiresGrad`), recording (`recordingGradient`,
// used by every differentiable op), and running (`backward`, `gradients(of:withRespectTo:)`).
//
// Building with `-D PERISCOPE_NO_AUTOGRAD` compiles recording out: `shouldRecord` is a constant
// false, `requiresGrad` stays false, and `backward` throws `AutogradError.compiledOut`. The
// benchmark in docs/autograd.md compares a forward pass with and without it.

extension Tensor {
    // MARK: - Tracking

    /// True when this tensor takes part in autograd (a leaf with `requiresGrad` or an op result
    /// computed from one while recording). Setting it on an untracked tensor makes it a leaf;
    /// clearing it is only allowed on leaves (use `detached()` to cut a graph).
    public var requiresGrad: Bool {
        get { gradientNode != nil }
        set {
            #if PERISCOPE_NO_AUTOGRAD
            return
            #else
            if newValue {
                if gradientNode == nil { gradientNode = .leaf() }
            } else {
                precondition(gradientNode?.isLeaf ?? true,
                             "requiresGrad = false on a non-leaf tensor; use detached() instead")
                gradientNode = nil
            }
            #endif
        }
    }

    /// True for tensors created by the user (untracked, or a leaf with `requiresGrad`), false for
    /// results of recorded ops.
    public var isLeaf: Bool { gradientNode?.isLeaf ?? true }

    /// The gradient accumulated by `backward()` (leaves, and non-leaves after `retainGrad()`),
    /// always float32.
    public var grad: Tensor? { gradientNode?.grad }

    /// Clears the accumulated gradient (PyTorch's `grad = None`).
    public func zeroGrad() {
        gradientNode?.grad = nil
    }

    /// Asks `backward()` to keep this non-leaf tensor's gradient in `grad` (PyTorch's `retain_grad()`).
    public func retainGrad() {
        precondition(gradientNode != nil, "retainGrad: the tensor \(shape) does not require grad")
        gradientNode?.retainsGrad = true
    }

    /// Registers `hook` on this tensor's gradient: it runs when the gradient with respect to this
    /// tensor is complete (before a leaf accumulates it, before the op passes it on) and may
    /// return a replacement (PyTorch's `Tensor.register_hook`).
    @discardableResult
    public func registerHook(_ hook: @escaping (Tensor) throws -> Tensor?) -> GradientHookHandle {
        guard let node = gradientNode else {
            preconditionFailure("registerHook: the tensor \(shape) does not require grad")
        }
        let id = Tensor.nextHookIdentifier.wrappingAdd(1, ordering: .relaxed).oldValue
        node.gradientHooks.append((id, hook))
        return GradientHookHandle(id: id, node: node)
    }

    private static let nextHookIdentifier = Atomic<Int>(1)

    // MARK: - Running

    /// Computes the gradient of this tensor with respect to every leaf of its graph and adds it
    /// to the leaves' `grad` (PyTorch's `tensor.backward(gradient, retain_graph)`).
    ///
    /// - Parameters:
    ///   - gradient: the seed, shaped like this tensor (∂loss/∂self); may be omitted for a
    ///     one-element tensor (seed 1).
    ///   - retainGraph: keep the graph for another pass. Otherwise every node the pass runs
    ///     through is released (backward function, saved tensors and input edges), so the graph
    ///     costs no memory afterwards even while this tensor lives, and a second pass throws
    ///     `AutogradError.graphReleased`.
    /// - Throws: `AutogradError` (untracked tensor, missing or mismatched seed, an op without a
    ///   backward function, a released graph) or any error a gradient hook throws.
    public func backward(gradient: Tensor? = nil, retainGraph: Bool = false) throws {
        let (root, seed) = try rootAndSeed(gradient)
        _ = try BackwardPass(root: root, mode: .accumulate, retainGraph: retainGraph).run(seed: seed)
    }

    /// The gradients of `output` with respect to each of `inputs` (leaves or intermediate
    /// tensors), without touching any `grad` (PyTorch's `torch.autograd.grad`). Only the part of
    /// the graph between `output` and `inputs` runs, and ops skip the gradients of inputs that
    /// lead nowhere wanted (a weight's gradient is not computed when only the input's is asked).
    ///
    /// An input the output does not depend on gets zeros (PyTorch's `materialize_grads`).
    /// `seed` and `retainGraph` are as in `backward(gradient:retainGraph:)`.
    public static func gradients(of output: Tensor, withRespectTo inputs: [Tensor], seed: Tensor? = nil,
                                 retainGraph: Bool = false) throws -> [Tensor] {
        let (root, seedValue) = try output.rootAndSeed(seed)
        let targets = Set(inputs.compactMap { $0.gradientNode.map { ObjectIdentifier($0) } })
        let collected = try BackwardPass(root: root, mode: .collect(targets), retainGraph: retainGraph).run(seed: seedValue)
        return inputs.map { input in
            input.gradientNode.flatMap { collected[ObjectIdentifier($0)] } ?? Tensor(zeros: input.shape)
        }
    }

    /// The root node and the checked seed of a backward pass from this tensor.
    private func rootAndSeed(_ gradient: Tensor?) throws -> (GradientNode, Tensor) {
        #if PERISCOPE_NO_AUTOGRAD
        throw AutogradError.compiledOut
        #else
        guard let root = gradientNode else { throw AutogradError.notTracked(shape: shape) }
        let seed: Tensor
        if let gradient {
            guard gradient.shape == shape else { throw AutogradError.seedShapeMismatch(expected: shape, got: gradient.shape) }
            seed = gradient.detached().to(.float32)
        } else {
            guard count == 1 else { throw AutogradError.seedRequired(shape: shape) }
            seed = Tensor(shape: shape, repeating: 1)
        }
        return (root, seed)
        #endif
    }

    // MARK: - Recording

    /// Whether an op with these inputs must record a node (recording on and an input tracked).
    /// Overloads instead of variadics: the check must cost nothing when nothing is tracked.
    @inlinable public static func shouldRecord(_ a: Tensor) -> Bool {
        #if PERISCOPE_NO_AUTOGRAD
        return false
        #else
        return a.gradientNode != nil && GradMode.isEnabled
        #endif
    }
    @inlinable public static func shouldRecord(_ a: Tensor, _ b: Tensor) -> Bool {
        #if PERISCOPE_NO_AUTOGRAD
        return false
        #else
        return (a.gradientNode != nil || b.gradientNode != nil) && GradMode.isEnabled
        #endif
    }
    @inlinable public static func shouldRecord(_ a: Tensor, _ b: Tensor, _ c: Tensor?) -> Bool {
        #if PERISCOPE_NO_AUTOGRAD
        return false
        #else
        return (a.gradientNode != nil || b.gradientNode != nil || c?.gradientNode != nil) && GradMode.isEnabled
        #endif
    }
    @inlinable public static func shouldRecord(_ tensors: [Tensor]) -> Bool {
        #if PERISCOPE_NO_AUTOGRAD
        return false
        #else
        return tensors.contains { $0.gradientNode != nil } && GradMode.isEnabled
        #endif
    }

    /// Returns this tensor with a node recording `operation` when any of `inputs` is tracked and
    /// recording is on; otherwise returns it unchanged (and `backward` is never called).
    ///
    /// `backward` maps the output's gradient to one gradient per input, in `inputs` order (nil
    /// where none flows). Ops whose backward is not implemented pass `nil`: a backward pass
    /// through them then throws `AutogradError.backwardNotImplemented` naming the op, instead of
    /// silently returning zeros.
    public func recordingGradient(_ operation: String, inputs: [Tensor],
                                  backward: ((Tensor) throws -> [Tensor?])?) -> Tensor {
        guard Tensor.shouldRecord(inputs) else { return self }
        return recorded(operation, inputs: inputs, backward: backward.map { function in { gradient, _ in try function(gradient) } })
    }

    /// `recordingGradient` for ops whose backward can skip inputs: `backward` also receives, per
    /// input, whether its gradient is needed (false for untracked inputs and for inputs that
    /// lead to nothing the pass wants), and returns nil for the ones it skips.
    public func recordingGradient(_ operation: String, inputs: [Tensor],
                                  selectiveBackward backward: @escaping GradientNode.Backward) -> Tensor {
        guard Tensor.shouldRecord(inputs) else { return self }
        return recorded(operation, inputs: inputs, backward: backward)
    }

    private func recorded(_ operation: String, inputs: [Tensor], backward: GradientNode.Backward?) -> Tensor {
        var result = self
        result.gradientNode = GradientNode(operation: operation, inputs: inputs.map(\.gradientNode), backward: backward)
        return result
    }

    /// The tensors unchanged, tied by one joint node whose `backward` sees the gradients of all
    /// of them at once (nil where none arrived) and returns the gradients to pass to them (nil:
    /// none). Module backward hooks use it to see a module's whole `gradInput`. Untracked tensors
    /// (or recording off) are returned as they are and get nil in `backward`.
    public static func jointIdentity(_ tensors: [Tensor], operation: String,
                                     backward: @escaping ([Tensor?]) throws -> [Tensor?]) -> [Tensor] {
        guard shouldRecord(tensors) else { return tensors }
        let joint = GradientNode(operation: operation, inputs: tensors.map(\.gradientNode), slotCount: tensors.count,
                                 backward: backward)
        return tensors.enumerated().map { index, tensor in
            guard tensor.gradientNode != nil else { return tensor }
            var output = tensor
            output.gradientNode = GradientNode(operation: operation, joint: joint, slot: index)
            return output
        }
    }
}
