import Tensors

/// An ONNX model compiled for running: values numbered, nodes in topological order, every node
/// assigned to a module path, fusion candidates found. Built once when a model loads (`Sendable`,
/// immutable); each worker's `ONNXGraphModule` replica runs it.
///
/// **Module names.** A node's module path comes from its scope: torch.onnx's TorchScript exporter
/// names nodes `/layer1/layer1.0/conv1/Conv` (scope segments, then the op), the dynamo exporter
/// records `pkg.torch.onnx.name_scopes` (`['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'conv2d']`).
/// Either way the scope resolves to PyTorch's qualified module name (`layer1.0.conv1`). A scope
/// holding one node (or several independent nodes of one operator: a module called k times, like a
/// shared ReLU) *is* that node's module; a scope with several different nodes or with sub-scopes is
/// a container whose children are its sub-scopes and its own nodes (named by the node's last name
/// segment, `Add`, `Mul_1`). Nodes without scope sit at the root under their (sanitized) names.
///
/// **A container's output** is the output of its last node in topological order — for modules
/// exported from PyTorch, the module's return value — and its input is the first non-constant
/// input of its first node. Every node output is also addressable by its ONNX tensor name
/// (`tensorLayerNames`).
public final class ONNXGraphPlan: Sendable {
    /// A graph input the caller supplies.
    public struct Input: Sendable {
        public let name: String
        let value: Int
        public let info: ONNXValueInfo
    }

    /// One node, ready to run.
    struct Step: Sendable {
        let node: ONNXNode
        /// Value ids of the inputs (nil: omitted optional input).
        let inputs: [Int?]
        let outputs: [Int]
        let modulePath: String
        /// Input 1 (a weight) is an initializer or constant.
        let weightIsConstant: Bool
    }

    /// A container module: where its (zero-duration) call happens.
    struct Container: Sendable {
        let path: String
        let firstStep: Int
        let lastStep: Int
        let inputValue: Int?
    }

    /// Steps fused into one: a Conv with a following BatchNormalization and/or ReLU or SiLU (Sigmoid, Mul), a MatMul
    /// with a following bias Add (and the exporter's erf GELU after it), an Add with its Relu, a Sigmoid with the
    /// Mul that makes it a SiLU, or a Softmax with the IsNaN and Where that zero its NaN rows. Indices are step indices, in order, the first being the head.
    struct Fusion: Sendable {
        let chain: [Int]
        /// How many leading steps of `chain` still form a fusion when a hook cuts it short (a MatMul, its
        /// bias Add and a GELU: 2, since the GELU's pieces alone are not one operation); nil: any prefix.
        var shortestCut: Int? = nil
        /// Set for attention, which runs as one step at the chain's *last* step (the P·V MatMul), when
        /// all its inputs exist; the other steps are skipped. All or nothing.
        var attention: Attention? = nil
    }

    /// softmax(query · key · scale + mask) · value as exported (`findFusions`): value ids of the operands
    /// — query [N…, L, D], key already transposed [N…, D, S], value [N…, S, Dv] — the folded scale, and
    /// what a fully masked row gives: 0 when the export zeroes the softmax's NaN rows, NaN otherwise.
    struct Attention: Sendable {
        let query: Int
        let key: Int
        let value: Int
        let mask: Int?
        let scale: Float
        let fullyMaskedRow: Float
    }

    /// A module of the tree, in creation order (parents before children).
    public struct ModuleEntry: Sendable {
        public let path: String
        public let isLeaf: Bool
        /// The operator type of a leaf; "" for containers.
        public let operatorType: String
    }

    public let opset: Int64
    public let producer: String
    public let inputs: [Input]
    let initializerNames: [String]
    let initializerValues: [Int]
    let initializerTensors: [Tensor]
    let steps: [Step]
    let valueCount: Int
    public let outputNames: [String]
    /// The declared graph outputs (types and shapes as the file states them).
    public let outputInfos: [ONNXValueInfo]
    let outputValues: [Int]
    public let modules: [ModuleEntry]
    let containers: [Container]
    let containersEndingAt: [Int: [Int]]
    let fusions: [Int: Fusion]
    /// Single-number float constants (Constant nodes and initializers) by value id, known at load.
    let scalarConstants: [Int: Float]
    /// Steps that run on channels-last values when their inputs allow (`ONNXChannelsLast`).
    let channelsLastSteps: Set<Int>
    /// The step after which each value is dead (graph outputs: never).
    let lastUse: [Int]
    /// ONNX tensor name → the layer name that captures it (output 0 of each node).
    public let tensorLayerNames: [String: String]
    /// For each leaf module, the step index of each of its calls; for containers, their first step.
    let callSteps: [String: [Int]]

    /// Every node output's tensor name, in execution order.
    public var orderedTensorNames: [String] {
        steps.flatMap { $0.node.outputs.filter { !$0.isEmpty } }
    }

    /// The initializers, by name, in file order (the model's state dict).
    public var initializers: [(name: String, tensor: Tensor)] {
        zip(initializerNames, initializerTensors).map { ($0, $1) }
    }

    /// Compiles `model`, or throws listing every unsupported operator, or the first structural problem.
    public init(model: ONNXModelProto) throws {
        let graph = model.graph
        // Operators and opsets, all problems at once.
        var problems = Set<String>()
        let opset = model.opsets[""]
        if let opset, !ONNXOperators.supportedOpsets.contains(opset) {
            problems.insert("ai.onnx opset \(opset) (supported: \(ONNXOperators.supportedOpsets.lowerBound)–\(ONNXOperators.supportedOpsets.upperBound))")
        } else if opset == nil {
            problems.insert("no ai.onnx opset imported")
        }
        for node in graph.nodes {
            let domain = node.normalizedDomain
            if !domain.isEmpty {
                problems.insert("\(node.operatorType) (domain \(domain), opset \(model.opsets[domain].map(String.init) ?? "none"))")
            } else if !ONNXOperators.supported.contains(node.operatorType) {
                problems.insert("\(node.operatorType) (domain ai.onnx, opset \(opset.map(String.init) ?? "none"))")
            } else if node.attributes.values.contains(where: { if case .graph = $0 { true } else { false } }) {
                problems.insert("\(node.operatorType) with a subgraph attribute")
            } else if let extra = ONNXGraphPlan.unsupportedOutput(node) ?? ONNXOperators.unsupportedForm(node) {
                problems.insert(extra)
            }
        }
        guard problems.isEmpty else { throw ONNXError.unsupportedOperators(problems.sorted()) }

        // Values.
        var valueIndex: [String: Int] = [:]
        var names: [String] = []
        func define(_ name: String) throws -> Int {
            guard valueIndex[name] == nil else { throw ONNXError.invalidGraph(reason: "tensor '\(name)' is defined more than once") }
            valueIndex[name] = names.count
            names.append(name)
            return names.count - 1
        }
        var constant = Set<Int>()
        var initializerValues: [Int] = []
        for initializer in graph.initializers {
            guard !initializer.name.isEmpty else { throw ONNXError.invalidGraph(reason: "an initializer has no name") }
            let value = try define(initializer.name)
            initializerValues.append(value)
            constant.insert(value)
        }
        var inputs: [Input] = []
        // IR < 4 lists initializers among the inputs too: those are not inputs a caller supplies.
        for info in graph.inputs where valueIndex[info.name] == nil {
            inputs.append(Input(name: info.name, value: try define(info.name), info: info))
        }
        var outputIds: [[Int]] = []
        for node in graph.nodes {
            // An empty output name is an output the graph does not use: give it a private value.
            outputIds.append(try node.outputs.map { try define($0.isEmpty ? "\u{0}unused\(names.count)" : $0) })
        }
        var inputIds: [[Int?]] = []
        for node in graph.nodes {
            inputIds.append(try node.inputs.map { name in
                if name.isEmpty { return nil }
                guard let value = valueIndex[name] else {
                    throw ONNXError.invalidGraph(reason: "node '\(node.label)' (\(node.operatorType)) reads '\(name)', which no node, graph input or initializer produces (missing initializer?)")
                }
                return value
            })
        }

        // Topological order (Kahn), stable with respect to file order.
        var producer = [Int: Int]()
        for (index, outputs) in outputIds.enumerated() { for value in outputs { producer[value] = index } }
        var pending = [Int](repeating: 0, count: graph.nodes.count)
        var dependents = [[Int]](repeating: [], count: graph.nodes.count)
        for (index, inputs) in inputIds.enumerated() {
            for source in Set(inputs.compactMap { $0 }.compactMap { producer[$0] }) {
                pending[index] += 1
                dependents[source].append(index)
            }
        }
        var ready = (0..<graph.nodes.count).filter { pending[$0] == 0 }.reversed().map { $0 }
        var order: [Int] = []
        while let next = ready.popLast() {
            order.append(next)
            for dependent in dependents[next] {
                pending[dependent] -= 1
                if pending[dependent] == 0 {
                    // Keep `ready` sorted descending so popLast takes the earliest node in the file.
                    let position = ready.firstIndex { $0 < dependent } ?? ready.count
                    ready.insert(dependent, at: position)
                }
            }
        }
        guard order.count == graph.nodes.count else {
            let stuck = (0..<graph.nodes.count).filter { pending[$0] > 0 }.prefix(5).map { graph.nodes[$0].label }
            throw ONNXError.invalidGraph(reason: "the graph has a cycle through nodes " + stuck.joined(separator: ", "))
        }

        // Constants propagate through Constant and Identity nodes (shared weights in TorchScript exports).
        for index in order {
            let node = graph.nodes[index]
            if node.operatorType == "Constant" || (node.operatorType == "Identity" && inputIds[index].first.flatMap { $0 }.map(constant.contains) == true) {
                constant.formUnion(outputIds[index])
            }
        }
        let outputValues = try graph.outputs.map { info -> Int in
            guard let value = valueIndex[info.name] else { throw ONNXError.invalidGraph(reason: "graph output '\(info.name)' is not produced") }
            return value
        }
        guard !outputValues.isEmpty else { throw ONNXError.invalidGraph(reason: "the graph has no outputs") }

        // Module paths.
        let paths = ONNXGraphPlan.modulePaths(nodes: graph.nodes, order: order, inputIds: inputIds, outputIds: outputIds)
        var steps: [Step] = []
        for index in order {
            let node = graph.nodes[index]
            let weight = inputIds[index].count > 1 ? inputIds[index][1] : nil
            steps.append(Step(node: node, inputs: inputIds[index], outputs: outputIds[index], modulePath: paths[index],
                              weightIsConstant: weight.map(constant.contains) ?? false))
        }

        // The module tree in creation order, call steps, containers.
        var modules: [ModuleEntry] = []
        var created = Set<String>()
        var callSteps: [String: [Int]] = [:]
        var containerRange: [String: (first: Int, last: Int)] = [:]
        for (stepIndex, step) in steps.enumerated() {
            let segments = step.modulePath.split(separator: ".").map(String.init)
            for depth in 1..<segments.count {
                let prefix = segments[..<depth].joined(separator: ".")
                if created.insert(prefix).inserted {
                    modules.append(ModuleEntry(path: prefix, isLeaf: false, operatorType: ""))
                }
                let range = containerRange[prefix] ?? (stepIndex, stepIndex)
                containerRange[prefix] = (range.first, stepIndex)
            }
            if created.insert(step.modulePath).inserted {
                modules.append(ModuleEntry(path: step.modulePath, isLeaf: true, operatorType: step.node.operatorType))
            }
            callSteps[step.modulePath, default: []].append(stepIndex)
        }
        var containers: [Container] = []
        for entry in modules where !entry.isLeaf {
            let range = containerRange[entry.path]!
            let first = steps[range.first]
            let input = first.inputs.compactMap { $0 }.first { !constant.contains($0) } ?? first.inputs.compactMap { $0 }.first
            containers.append(Container(path: entry.path, firstStep: range.first, lastStep: range.last, inputValue: input))
            callSteps[entry.path] = [range.first]
        }
        var containersEndingAt: [Int: [Int]] = [:]
        // Inner containers end first (their hooks run before their parents', as calls would return).
        for (index, container) in containers.enumerated().sorted(by: { $0.element.path.count > $1.element.path.count }) {
            containersEndingAt[container.lastStep, default: []].append(index)
        }

        // Liveness.
        var lastUse = [Int](repeating: -1, count: names.count)
        for (stepIndex, step) in steps.enumerated() {
            for value in step.inputs.compactMap({ $0 }) { lastUse[value] = stepIndex }
            for value in step.outputs where lastUse[value] < stepIndex { lastUse[value] = stepIndex }
        }
        for container in containers { if let value = container.inputValue { lastUse[value] = max(lastUse[value], container.lastStep) } }
        for value in outputValues { lastUse[value] = Int.max }
        for value in initializerValues { lastUse[value] = Int.max }
        // Scalars (rank ≤ 1, one element: broadcasting one never changes the other operand's shape) and fusions.
        var scalars: [Int: Float] = [:]
        for (value, tensor) in zip(initializerValues, graph.initializers.map(\.tensor)) where tensor.isFloatScalar {
            scalars[value] = tensor.scalarValue
        }
        for step in steps where step.node.operatorType == "Constant" {
            if let tensor = try? ONNXOperators.constant(step.node), tensor.isFloatScalar, let value = step.outputs.first {
                scalars[value] = tensor.scalarValue
            }
        }
        let fusions = ONNXGraphPlan.findFusions(steps: steps, constant: constant, scalars: scalars, outputs: Set(outputValues),
                                                valueCount: names.count)
        // Attention runs at its last step: whatever its steps read from outside lives until then (the
        // constants too, for running the steps one by one when the fused kernel does not take the layout).
        for fusion in fusions.values where fusion.attention != nil {
            let anchor = fusion.chain.last!
            let produced = Set(fusion.chain.flatMap { steps[$0].outputs })
            for index in fusion.chain {
                for value in steps[index].inputs.compactMap({ $0 }) where !produced.contains(value) {
                    lastUse[value] = max(lastUse[value], anchor)
                }
            }
        }

        // Tensor names → layer names (output 0 of each node; FX suffix for repeated calls).
        var tensorLayerNames: [String: String] = [:]
        var callCounts: [String: Int] = [:]
        for step in steps {
            let call = callCounts[step.modulePath, default: 0]
            callCounts[step.modulePath] = call + 1
            if let name = step.node.outputs.first, !name.isEmpty {
                tensorLayerNames[name] = call == 0 ? step.modulePath : "\(step.modulePath)_\(call)"
            }
        }

        self.opset = opset!
        self.producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        self.inputs = inputs
        self.initializerNames = graph.initializers.map(\.name)
        self.initializerValues = initializerValues
        self.initializerTensors = graph.initializers.map(\.tensor)
        self.steps = steps
        self.valueCount = names.count
        self.outputNames = graph.outputs.map(\.name)
        self.outputInfos = graph.outputs
        self.outputValues = outputValues
        self.modules = modules
        self.containers = containers
        self.containersEndingAt = containersEndingAt
        self.lastUse = lastUse
        self.tensorLayerNames = tensorLayerNames
        self.callSteps = callSteps
        self.scalarConstants = scalars
        self.fusions = fusions
        self.channelsLastSteps = ONNXChannelsLast.steps(
            steps, initializers: Dictionary(uniqueKeysWithValues: zip(initializerValues, graph.initializers.map(\.tensor))))
    }

    /// Extra outputs this runtime does not produce (training statistics, pooling indices, masks).
    static func unsupportedOutput(_ node: ONNXNode) -> String? {
        let extra = node.outputs.dropFirst().contains { !$0.isEmpty }
        switch node.operatorType {
        case "Split": return nil
        case "Dropout", "LayerNormalization", "BatchNormalization", "MaxPool":
            return extra ? "\(node.operatorType) with more than one output" : nil
        default:
            return node.outputs.count > 1 && extra ? "\(node.operatorType) with \(node.outputs.count) outputs" : nil
        }
    }

    // MARK: - Module paths

    /// The module path of every node (indexed like `nodes`).
    static func modulePaths(nodes: [ONNXNode], order: [Int], inputIds: [[Int?]], outputIds: [[Int]]) -> [String] {
        var scopes = [String](repeating: "", count: nodes.count)
        var leaves = [String](repeating: "", count: nodes.count)
        for (index, node) in nodes.enumerated() {
            let resolved = scope(of: node, index: index)
            scopes[index] = resolved.scope
            leaves[index] = resolved.leaf
        }
        // Every scope path and its prefixes: names a node's own child must not take.
        var reserved = Set<String>()
        for scope in scopes where !scope.isEmpty {
            let segments = scope.split(separator: ".")
            for depth in 1...segments.count { reserved.insert(segments[..<depth].joined(separator: ".")) }
        }
        var members: [String: [Int]] = [:]
        for index in order { members[scopes[index], default: []].append(index) }
        var paths = [String](repeating: "", count: nodes.count)
        var taken = Set<String>()
        for index in order {
            let scope = scopes[index]
            let group = members[scope]!
            if !scope.isEmpty && !reserved.contains(where: { $0.hasPrefix(scope + ".") }) && isRepeatedCall(group, nodes: nodes, inputIds: inputIds, outputIds: outputIds) {
                paths[index] = scope
                continue
            }
            let base = scope.isEmpty ? leaves[index] : scope + "." + leaves[index]
            var candidate = base, suffix = 1
            while reserved.contains(candidate) || taken.contains(candidate) {
                candidate = "\(base)_\(suffix)"
                suffix += 1
            }
            taken.insert(candidate)
            paths[index] = candidate
        }
        return paths
    }

    /// True when `group` is one operator applied to independent inputs: calls of one module.
    private static func isRepeatedCall(_ group: [Int], nodes: [ONNXNode], inputIds: [[Int?]], outputIds: [[Int]]) -> Bool {
        guard group.count > 1 else { return true }
        let type = nodes[group[0]].operatorType
        guard group.allSatisfy({ nodes[$0].operatorType == type }) else { return false }
        let produced = Set(group.flatMap { outputIds[$0] })
        return group.allSatisfy { inputIds[$0].allSatisfy { $0.map { !produced.contains($0) } ?? true } }
    }

    /// The qualified scope (`layer1.0.conv1`) and leaf name (`Conv`) of a node.
    static func scope(of node: ONNXNode, index: Int) -> (scope: String, leaf: String) {
        func sanitized(_ text: String) -> String {
            let cleaned = String(text.map { ".:/ *?[]".contains($0) ? "_" : $0 })
            return cleaned.isEmpty ? "\(node.operatorType)_\(index)" : cleaned
        }
        if let scopes = node.nameScopes, scopes.count >= 2 {
            let modules = scopes.dropFirst().dropLast().filter { !$0.isEmpty }
            return (qualified(Array(modules), alreadyQualified: true), sanitized(scopes.last!))
        }
        if node.name.hasPrefix("/") {
            let parts = node.name.split(separator: "/").map(String.init)
            guard let last = parts.last else { return ("", sanitized(node.operatorType)) }
            return (qualified(Array(parts.dropLast()), alreadyQualified: false), sanitized(last))
        }
        return ("", sanitized(node.name))
    }

    /// Scope segments → a dotted module path. TorchScript writes a child either by its attribute
    /// name (`conv1` under `layer1.0`) or prefixed with its parent's segment (`layer1.0` under
    /// `layer1`, `downsample.0` under `downsample`); dynamo's scopes are all fully qualified, so the
    /// last one is the path.
    static func qualified(_ segments: [String], alreadyQualified: Bool) -> String {
        if alreadyQualified { return segments.last.map(normalizedPath) ?? "" }
        var path = "", previous = ""
        for segment in segments where !segment.isEmpty {
            if !previous.isEmpty && segment.hasPrefix(previous + ".") {
                path += segment.dropFirst(previous.count)
            } else {
                path = path.isEmpty ? segment : path + "." + segment
            }
            previous = segment
        }
        return normalizedPath(path)
    }

    /// A dotted path with no empty segments and no characters that selectors treat specially.
    private static func normalizedPath(_ path: String) -> String {
        path.split(separator: ".").map { String($0.map { ":/ *?[]".contains($0) ? "_" : $0 }) }.joined(separator: ".")
    }

    // MARK: - Fusion

    /// Conv → BatchNormalization? → (Relu | SiLU)?; MatMul (constant 2-D weight) → Add (constant bias)
    /// → (erf GELU | Add of a residual computed before the MatMul)?; Add → Relu (a residual join);
    /// Sigmoid → Mul with the sigmoid's own input (SiLU); Softmax → IsNaN → Where(isNaN, c, softmax) (the
    /// SDPA export's masked softmax); a squeeze-and-excitation Mul(x, sigmoid gate) → Conv (→ its own
    /// chain); and attention (`attentionEnding(at:)`). Each intermediate value has exactly one reader (a
    /// SiLU's or GELU's input: its two readers) and is not a graph output. `scalars` holds the
    /// single-number constants by value.
    static func findFusions(steps: [Step], constant: Set<Int>, scalars: [Int: Float] = [:], outputs: Set<Int>,
                            valueCount: Int) -> [Int: Fusion] {
        var readers = [[Int]](repeating: [], count: valueCount)
        var producerStep = [Int: Int]()
        for (index, step) in steps.enumerated() {
            for value in step.inputs.compactMap({ $0 }) { readers[value].append(index) }
            for value in step.outputs { producerStep[value] = index }
        }
        func soleReader(of step: Int) -> Int? {
            guard let value = steps[step].outputs.first, !outputs.contains(value), readers[value].count == 1 else { return nil }
            let reader = readers[value][0]
            return steps[reader].inputs.first == value ? reader : nil
        }
        /// The Sigmoid and Mul steps computing x · sigmoid(x) from step `step`'s output x, if x is read by them only.
        func siluAfter(_ step: Int) -> [Int]? {
            guard let value = steps[step].outputs.first, !outputs.contains(value), readers[value].count == 2,
                  let sigmoid = readers[value].first(where: { steps[$0].node.operatorType == "Sigmoid" && steps[$0].inputs.first == value }),
                  let gate = steps[sigmoid].outputs.first, !outputs.contains(gate), readers[gate].count == 1 else { return nil }
            let multiply = readers[gate][0]
            guard steps[multiply].node.operatorType == "Mul", readers[value].contains(multiply), steps[multiply].inputs.count == 2,
                  Set(steps[multiply].inputs.compactMap { $0 }) == [value, gate] else { return nil }
            return [sigmoid, multiply]
        }
        /// The other input of binary step `step` besides `value`, when it is a single-number constant.
        func scalarOperand(_ step: Int, besides value: Int) -> Float? {
            let inputs = steps[step].inputs
            guard inputs.count == 2, inputs.contains(value) else { return nil }
            return (inputs[0] == value ? inputs[1] : inputs[0]).flatMap { scalars[$0] }
        }
        func near(_ a: Float?, _ b: Float) -> Bool { a.map { abs($0 - b) <= 1e-6 * b } ?? false }
        /// The steps of GELU as torch.onnx exports it, x·(1 + erf(x / √2))·0.5 — Div(x, √2), Erf, Add(1),
        /// Mul(x, ·), Mul(0.5) — from step `step`'s output x, if x is read by that Div and Mul only.
        func geluAfter(_ step: Int) -> [Int]? {
            guard let x = steps[step].outputs.first, !outputs.contains(x), readers[x].count == 2,
                  let divide = readers[x].first(where: { steps[$0].node.operatorType == "Div" && steps[$0].inputs.first == x }),
                  near(scalarOperand(divide, besides: x), Float(2).squareRoot()),
                  let erf = soleReader(of: divide), steps[erf].node.operatorType == "Erf",
                  let plusOne = soleReaderOfValue(steps[erf].outputs.first), steps[plusOne].node.operatorType == "Add",
                  let erfValue = steps[erf].outputs.first, near(scalarOperand(plusOne, besides: erfValue), 1),
                  let onePlus = steps[plusOne].outputs.first,
                  let product = soleReaderOfValue(onePlus), steps[product].node.operatorType == "Mul",
                  readers[x].contains(product), Set(steps[product].inputs.compactMap { $0 }) == [x, onePlus],
                  let productValue = steps[product].outputs.first,
                  let half = soleReaderOfValue(productValue), steps[half].node.operatorType == "Mul",
                  near(scalarOperand(half, besides: productValue), 0.5) else { return nil }
            return [divide, erf, plusOne, product, half]
        }
        /// The one step reading `value` (in any position), if it is not a graph output.
        func soleReaderOfValue(_ value: Int?) -> Int? {
            guard let value, !outputs.contains(value), readers[value].count == 1 else { return nil }
            return readers[value][0]
        }
        /// Where(IsNaN(s), c, s) after Softmax step `softmax` (the SDPA export's masked softmax), s read by that
        /// IsNaN and Where only, c a single number: the IsNaN and Where steps and c.
        func nanSelect(after softmax: Int) -> (isNaN: Int, select: Int, replacement: Float)? {
            guard let value = steps[softmax].outputs.first, !outputs.contains(value), readers[value].count == 2,
                  let isNaN = readers[value].first(where: { steps[$0].node.operatorType == "IsNaN" }),
                  let select = soleReaderOfValue(steps[isNaN].outputs.first), steps[select].node.operatorType == "Where",
                  readers[value].contains(select), steps[select].inputs.count == 3,
                  steps[select].inputs[0] == steps[isNaN].outputs.first, steps[select].inputs[2] == value,
                  let replacement = steps[select].inputs[1].flatMap({ scalars[$0] }) else { return nil }
            return (isNaN, select, replacement)
        }
        /// Attention ending at MatMul step `final` (P·V): MatMul(q [· c], kᵀ [· c]) [· c or / c] [+ mask] → Softmax
        /// over the last axis [→ Where(IsNaN(p), 0, p)] → MatMul(p, v), every intermediate read by the next step only.
        func attentionEnding(at final: Int) -> Fusion? {
            let inputs = steps[final].inputs
            guard inputs.count == 2, let probabilities = inputs[0], let value = inputs[1], !constant.contains(value),
                  soleReaderOfValue(probabilities) == final, var producer = producerStep[probabilities] else { return nil }
            var chain = [final]
            var fullyMaskedRow = Float.nan
            if steps[producer].node.operatorType == "Where" {
                // The SDPA export's Where(IsNaN(s), 0, s): fully masked rows become zeros.
                guard steps[producer].inputs.count == 3, let softmax = steps[producer].inputs[2].flatMap({ producerStep[$0] }),
                      let selection = nanSelect(after: softmax), selection.select == producer, selection.replacement == 0 else { return nil }
                chain += [producer, selection.isNaN]
                producer = softmax
                fullyMaskedRow = 0
            }
            let softmax = steps[producer]
            guard softmax.node.operatorType == "Softmax", let logits = softmax.inputs.first ?? nil, soleReaderOfValue(logits) == producer,
                  (try? softmax.node.int("axis", default: -1)) == -1, let source = producerStep[logits] else { return nil }
            chain.append(producer)
            var mask: Int?
            var product = scaledProduct(logits, readBy: producer)
            if product == nil, steps[source].node.operatorType == "Add", steps[source].inputs.count == 2 {
                // Scores + mask, in either order.
                for (position, scores) in steps[source].inputs.enumerated() {
                    guard let scores, let found = scaledProduct(scores, readBy: source) else { continue }
                    product = found
                    mask = steps[source].inputs[1 - position]
                    chain.append(source)
                    break
                }
            }
            guard let product else { return nil }
            let attention = Attention(query: product.query, key: product.key, value: value, mask: mask, scale: product.scale,
                                      fullyMaskedRow: fullyMaskedRow)
            chain += product.steps
            return Fusion(chain: chain.sorted(), shortestCut: chain.count, attention: attention)
        }
        /// The scores `value` (read by step `reader` only) as MatMul(q [· c], kᵀ [· c]) [· c | / c]: those steps (the
        /// last one first), q, kᵀ and the product of the constants. The SDPA export scales q and kᵀ by √scale each,
        /// the eager one divides or multiplies the scores.
        func scaledProduct(_ value: Int, readBy reader: Int) -> (steps: [Int], query: Int, key: Int, scale: Float)? {
            guard soleReaderOfValue(value) == reader, var current = producerStep[value] else { return nil }
            var chain: [Int] = []
            var scale: Float = 1
            let type = steps[current].node.operatorType
            if type == "Mul" || type == "Div" {
                let step = steps[current]
                let data = type == "Div" ? step.inputs[0] : step.inputs.first { $0.flatMap { scalars[$0] } == nil } ?? nil
                guard let data, let factor = scalarOperand(current, besides: data), factor != 0,
                      soleReaderOfValue(data) == current, let source = producerStep[data] else { return nil }
                scale = type == "Div" ? 1 / factor : factor
                chain.append(current)
                current = source
            }
            let product = steps[current]
            guard product.node.operatorType == "MatMul", product.inputs.count == 2, !product.weightIsConstant else { return nil }
            chain.append(current)
            var operands: [Int] = []
            for input in product.inputs {
                guard let input, !constant.contains(input) else { return nil }
                if let source = producerStep[input], steps[source].node.operatorType == "Mul", soleReaderOfValue(input) == current,
                   let data = steps[source].inputs.first(where: { $0.flatMap { scalars[$0] } == nil }) ?? nil,
                   let factor = scalarOperand(source, besides: data), !constant.contains(data) {
                    scale *= factor
                    chain.append(source)
                    operands.append(data)
                } else {
                    operands.append(input)
                }
            }
            return (chain, operands[0], operands[1], scale)
        }
        var fusions: [Int: Fusion] = [:]
        for (index, step) in steps.enumerated() where step.node.operatorType == "MatMul" && !step.weightIsConstant {
            if let attention = attentionEnding(at: index) { fusions[attention.chain[0]] = attention }
        }
        for (index, step) in steps.enumerated() {
            switch step.node.operatorType {
            case "Conv" where step.weightIsConstant && (step.inputs.count < 3 || step.inputs[2].map(constant.contains) ?? true):
                var chain = [index]
                if let next = soleReader(of: index), steps[next].node.operatorType == "BatchNormalization",
                   steps[next].inputs.dropFirst().allSatisfy({ $0.map(constant.contains) ?? false }) {
                    chain.append(next)
                }
                if let next = soleReader(of: chain.last!), steps[next].node.operatorType == "Relu" {
                    chain.append(next)
                } else if let silu = siluAfter(chain.last!) {
                    chain += silu
                }
                if chain.count > 1 { fusions[index] = Fusion(chain: chain) }
            case "MatMul" where step.weightIsConstant:
                guard let value = step.outputs.first, !outputs.contains(value), readers[value].count == 1 else { continue }
                let next = readers[value][0]
                let add = steps[next]
                guard add.node.operatorType == "Add", add.inputs.count == 2 else { continue }
                let other = add.inputs[0] == value ? add.inputs[1] : add.inputs[0]
                guard let other, constant.contains(other), add.inputs.contains(value) else { continue }
                if let gelu = geluAfter(next) {
                    fusions[index] = Fusion(chain: [index, next] + gelu, shortestCut: 2)
                } else if let join = soleReaderOfValue(add.outputs.first), steps[join].node.operatorType == "Add",
                          steps[join].inputs.count == 2, let residual = steps[join].inputs.first(where: { $0 != add.outputs.first }) ?? nil,
                          !constant.contains(residual), producerStep[residual].map({ $0 < index }) ?? true {
                    // A residual join computed before the MatMul: accumulated in its GEMM.
                    fusions[index] = Fusion(chain: [index, next, join], shortestCut: 2)
                } else {
                    fusions[index] = Fusion(chain: [index, next])
                }
            case "Add" where step.inputs.count == 2:
                // A residual join: Add → Relu in one pass.
                if let next = soleReader(of: index), steps[next].node.operatorType == "Relu" { fusions[index] = Fusion(chain: [index, next]) }
            case "Softmax":
                // Softmax whose NaN rows (fully masked) are replaced by a constant in its own pass.
                guard let selection = nanSelect(after: index) else { continue }
                fusions[index] = Fusion(chain: [index, selection.isNaN, selection.select], shortestCut: 1)
            case "Sigmoid":
                // SiLU as exported: Mul(x, Sigmoid(x)), the sigmoid read by that Mul only.
                guard let input = step.inputs.first ?? nil, let value = step.outputs.first, !outputs.contains(value),
                      readers[value].count == 1 else { continue }
                let next = readers[value][0]
                let multiply = steps[next]
                if multiply.node.operatorType == "Mul", multiply.inputs.count == 2, Set(multiply.inputs.compactMap { $0 }) == [input, value] {
                    fusions[index] = Fusion(chain: [index, next])
                }
            default:
                continue
            }
        }
        // Squeeze-and-excitation: Mul(x, gate) with the gate a Sigmoid's or HardSigmoid's output, read only by a
        // Conv with a constant weight (a block's projection; 1×1 checked when it runs) → that Conv's chain.
        for (index, step) in steps.enumerated() where step.node.operatorType == "Mul" && step.inputs.count == 2 && fusions[index] == nil {
            // (Not a SiLU's Mul, x · sigmoid(x).)
            let gates = step.inputs.compactMap { $0.flatMap { producerStep[$0] } }.filter {
                ["Sigmoid", "HardSigmoid"].contains(steps[$0].node.operatorType) && !step.inputs.contains(steps[$0].inputs.first ?? nil)
            }
            guard !gates.isEmpty, let convolution = soleReaderOfValue(step.outputs.first), steps[convolution].node.operatorType == "Conv",
                  steps[convolution].weightIsConstant, steps[convolution].inputs.first == step.outputs.first else { continue }
            fusions[index] = Fusion(chain: [index] + (fusions[convolution]?.chain ?? [convolution]), shortestCut: 2)
        }
        return fusions
    }
}

private extension Tensor {
    /// One float element in a tensor of rank ≤ 1: broadcasting it never changes the other operand's shape.
    var isFloatScalar: Bool { count == 1 && rank <= 1 && dtype == .float32 }
}
