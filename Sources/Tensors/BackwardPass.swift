// Reverse-mode automatic differentiation over the recorded graph.
//
// One pass: (1) discover the nodes reachable from the root; (2) mark the nodes whose gradient is
// wanted (all of them for `backward()`; for `gradients(of:withRespectTo:)`, the nodes on a path
// to a target); (3) count, per wanted node, the edges from wanted consumers; (4) run the nodes in
// dependency order (Kahn's algorithm): a node runs once every consumer has handed it its share,
// so its gradient is complete. Everything runs with recording off (no higher-order graphs).

/// One backward pass over the graph below `root`.
struct BackwardPass {
    /// What the pass does with the gradients it computes.
    enum Mode {
        /// `backward()`: leaves accumulate into `grad`, as do nodes that retain their gradient.
        case accumulate
        /// `gradients(of:withRespectTo:)`: the gradients of these nodes are returned; no `grad` changes.
        case collect(Set<ObjectIdentifier>)
    }

    let root: GradientNode
    let mode: Mode
    let retainGraph: Bool

    /// Runs the pass from `root` seeded with `seed`; returns the gradients of the collected
    /// nodes (empty in `.accumulate` mode).
    func run(seed: Tensor) throws -> [ObjectIdentifier: Tensor] {
        try GradMode.withDisabled { try runWithoutRecording(seed: seed) }
    }

    private func runWithoutRecording(seed: Tensor) throws -> [ObjectIdentifier: Tensor] {
        let nodes = discover()
        let wanted = wantedNodes(nodes)
        guard wanted.contains(ObjectIdentifier(root)) else { return [:] }

        // Edges from wanted consumers into each wanted node.
        var pending: [ObjectIdentifier: Int] = [:]
        for node in nodes where wanted.contains(ObjectIdentifier(node)) && runsBackward(node, wanted) {
            for case let input? in node.inputs where wanted.contains(ObjectIdentifier(input)) {
                pending[ObjectIdentifier(input), default: 0] += 1
            }
        }

        var gradients: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed]
        var slots: [ObjectIdentifier: [Tensor?]] = [:]
        var collected: [ObjectIdentifier: Tensor] = [:]
        var ready: [GradientNode] = [root]
        while let node = ready.popLast() {
            let key = ObjectIdentifier(node)
            let inputsBeforeRelease = runsBackward(node, wanted) ? node.inputs : []
            var gradient = gradients.removeValue(forKey: key)
            if let incoming = gradient {
                gradient = try applyHooks(node, incoming)
            }
            if let gradient { record(gradient, at: node, into: &collected) }

            var results: [Tensor?] = []
            if runsBackward(node, wanted) {
                results = try propagate(node, gradient: gradient, slots: slots.removeValue(forKey: key), wanted: wanted)
                if !retainGraph { node.release() }
            }
            // Hand each input its share; an input runs once all its consumers have.
            for (index, input) in inputsBeforeRelease.enumerated() {
                guard let input, wanted.contains(ObjectIdentifier(input)) else { continue }
                let inputKey = ObjectIdentifier(input)
                // Taken out of the dictionaries before adding, so the sum can run in place.
                if let slot = node.outputSlot {
                    if let gradient {
                        var gathered = slots.removeValue(forKey: inputKey) ?? [Tensor?](repeating: nil, count: input.slotCount)
                        gathered[slot] = Self.sum(gathered[slot], gradient, operation: node.operation)
                        slots[inputKey] = gathered
                    }
                } else if index < results.count, let share = results[index] {
                    gradients[inputKey] = Self.sum(gradients.removeValue(forKey: inputKey), share, operation: node.operation)
                }
                pending[inputKey]! -= 1
                if pending[inputKey] == 0 { ready.append(input) }
            }
        }
        return collected
    }

    // MARK: - Graph

    /// Every node reachable from the root, each once.
    private func discover() -> [GradientNode] {
        var seen: Set<ObjectIdentifier> = [ObjectIdentifier(root)]
        var nodes: [GradientNode] = []
        var stack = [root]
        while let node = stack.popLast() {
            nodes.append(node)
            for case let input? in node.inputs where seen.insert(ObjectIdentifier(input)).inserted {
                stack.append(input)
            }
        }
        return nodes
    }

    /// The nodes whose gradient the pass computes: all of them when accumulating; otherwise the
    /// targets and every node with a path to one.
    private func wantedNodes(_ nodes: [GradientNode]) -> Set<ObjectIdentifier> {
        guard case .collect(let targets) = mode else { return Set(nodes.map { ObjectIdentifier($0) }) }
        var wanted: Set<ObjectIdentifier> = []
        var decided: Set<ObjectIdentifier> = []
        // Iterative post-order: a node is wanted if it is a target or an input of it is wanted.
        var stack: [(node: GradientNode, expanded: Bool)] = [(root, false)]
        while let (node, expanded) = stack.popLast() {
            let key = ObjectIdentifier(node)
            if decided.contains(key) { continue }
            if !expanded {
                stack.append((node, true))
                for case let input? in node.inputs where !decided.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
                continue
            }
            decided.insert(key)
            if targets.contains(key) || node.inputs.contains(where: { $0.map { wanted.contains(ObjectIdentifier($0)) } ?? false }) {
                wanted.insert(key)
            }
        }
        return wanted
    }

    /// Whether `node` passes gradients on to inputs (false for leaves, and for nodes none of
    /// whose inputs is wanted — a target whose inputs lead to no other target).
    private func runsBackward(_ node: GradientNode, _ wanted: Set<ObjectIdentifier>) -> Bool {
        if node.isLeaf { return false }
        if node.isReleased { return true }  // fails in `propagate`, naming the op
        return node.inputs.contains { $0.map { wanted.contains(ObjectIdentifier($0)) } ?? false }
    }

    // MARK: - Steps

    /// Runs the node's gradient hooks in order; each may replace the gradient.
    private func applyHooks(_ node: GradientNode, _ gradient: Tensor) throws -> Tensor {
        var gradient = gradient
        // A copy: a hook that removes hooks changes the node's list, not this loop.
        for hook in node.gradientHooks where node.gradientHooks.contains(where: { $0.id == hook.id }) {
            if let replacement = try hook.body(gradient) { gradient = replacement }
        }
        return gradient
    }

    /// Stores the node's complete gradient where the mode wants it.
    private func record(_ gradient: Tensor, at node: GradientNode, into collected: inout [ObjectIdentifier: Tensor]) {
        switch mode {
        case .accumulate:
            if node.isLeaf || node.retainsGrad {
                let existing = node.grad
                node.grad = nil
                node.grad = Self.sum(existing, gradient, operation: node.operation)
            }
        case .collect(let targets):
            if targets.contains(ObjectIdentifier(node)) { collected[ObjectIdentifier(node)] = gradient }
        }
    }

    /// The gradients of the node's inputs (nil entries: none flows), or [] for a forwarding output.
    private func propagate(_ node: GradientNode, gradient: Tensor?, slots: [Tensor?]?, wanted: Set<ObjectIdentifier>) throws -> [Tensor?] {
        if node.isReleased { throw AutogradError.graphReleased(operation: node.operation) }
        if node.outputSlot != nil { return [] }
        if let jointBackward = node.jointBackward {
            guard let slots else { return [] }
            let results = try jointBackward(slots)
            precondition(results.count == node.inputs.count,
                         "backward of '\(node.operation)' returned \(results.count) gradients for \(node.inputs.count) inputs")
            return results
        }
        guard let backward = node.backward else { throw AutogradError.backwardNotImplemented(operation: node.operation) }
        guard let gradient else { return [] }
        let needs = node.inputs.map { $0.map { wanted.contains(ObjectIdentifier($0)) } ?? false }
        let results = try backward(gradient, needs)
        precondition(results.count == node.inputs.count,
                     "backward of '\(node.operation)' returned \(results.count) gradients for \(node.inputs.count) inputs")
        return results
    }

    /// `existing + addition` (float32), in place when `existing` is not shared.
    static func sum(_ existing: Tensor?, _ addition: Tensor, operation: String) -> Tensor {
        let addition = addition.dtype == .float32 ? addition : addition.to(.float32)
        guard var total = existing else { return addition }
        precondition(total.shape == addition.shape,
                     "backward: gradients of shapes \(total.shape) and \(addition.shape) meet at op '\(operation)'")
        total += addition
        return total
    }
}
