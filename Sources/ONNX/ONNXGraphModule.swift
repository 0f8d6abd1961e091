import Foundation
import NN
import Tensors

/// An imported ONNX graph as a module tree: the root holds the initializers as parameters (state-dict
/// keys are the initializer names), and every node is a leaf module at its PyTorch-style path
/// (`layer1.0.conv1`) under container modules for the enclosing scopes (see `ONNXGraphPlan`).
///
/// Running it executes the plan's steps in topological order. Hooks work as on any module — which
/// is what capture, layer tracing and early stop use — with one difference: a graph has no nested
/// calls, so a module's call is *zero-duration*: a leaf's pre-hooks and forward hooks run right after
/// its node computed, a container's right after its last node; a pre-hook sees the module's input
/// (the container's: the first non-constant input of its first node) but replacing it has no effect
/// (the node already ran). A forward hook's replacement of the output does take effect.
///
/// Fusion (Conv+BatchNormalization+Relu, MatMul+Add) happens only when no hook can observe an
/// intermediate value: every fused node's module, and every container ending at a non-final fused
/// node, must be hook-free for that call (`canSkipHooks`), exactly like the built-in layers' gate.
public final class ONNXGraphModule: Module {
    /// The compiled graph this tree runs.
    public let plan: ONNXGraphPlan
    /// Per-replica run state, boxed so module discovery does not see module arrays.
    private let state: RunState

    /// Leaf and container modules by step/container index, and the per-step caches.
    private final class RunState {
        var stepModules: [Module] = []
        var containerModules: [Module] = []
        var caches: [ONNXStepCache] = []
        var initializers: [Parameter] = []
    }

    /// Builds the tree; parameters start as the model's initializer tensors (storage shared).
    public init(plan: ONNXGraphPlan) {
        self.plan = plan
        self.state = RunState()
        super.init()
        var byPath: [String: Module] = [:]
        for entry in plan.modules {
            let module: Module = entry.isLeaf ? ONNXNodeModule(operatorType: entry.operatorType) : ONNXScopeModule()
            byPath[entry.path] = module
            let segments = entry.path.split(separator: ".")
            let parent = segments.count == 1 ? self : byPath[segments.dropLast().joined(separator: ".")]!
            parent.addModule(String(segments.last!), module)
        }
        state.stepModules = plan.steps.map { byPath[$0.modulePath]! }
        state.containerModules = plan.containers.map { byPath[$0.path]! }
        state.caches = plan.steps.map { step in
            let cache = ONNXStepCache()
            cache.weightIsConstant = step.weightIsConstant
            return cache
        }
        for (name, tensor) in plan.initializers {
            let parameter = Parameter(tensor, requiresGrad: false)
            registerParameter(name, parameter)
            state.initializers.append(parameter)
        }
    }

    public override var typeName: String { "ONNXModel" }

    /// Runs the graph (through this module's hooks) and returns its first output.
    public func callAsFunction(inputs: [String: Tensor]) throws -> Tensor {
        if canSkipHooks { return try forward(inputs: inputs) }
        let first = plan.inputs.first.flatMap { inputs[$0.name] } ?? Tensor(zeros: [0])
        return try callWithHooks(inputs: [first]) { _ in try self.forward(inputs: inputs) }
    }

    /// Runs the graph and returns every graph output by name (no hooks on the root).
    public func outputs(inputs: [String: Tensor]) throws -> [String: Tensor] {
        let values = try run(inputs: inputs)
        return Dictionary(uniqueKeysWithValues: zip(plan.outputNames, plan.outputValues.map { values[$0]! }))
    }

    /// Runs the graph and returns every named value — graph inputs, initializers excluded, every
    /// node output — without fusion, so each is the value its node computes (parity checks).
    public func allValues(inputs: [String: Tensor]) throws -> [String: Tensor] {
        let values = try run(inputs: inputs, keepingAll: true)
        var result: [String: Tensor] = [:]
        for step in plan.steps {
            for (position, name) in step.node.outputs.enumerated() where !name.isEmpty {
                if let value = values[step.outputs[position]] { result[name] = value }
            }
        }
        return result
    }

    func forward(inputs: [String: Tensor]) throws -> Tensor {
        try run(inputs: inputs)[plan.outputValues[0]]!
    }

    /// The value table after running every step; `keepingAll` keeps dead values and turns fusion off.
    private func run(inputs: [String: Tensor], keepingAll: Bool = false) throws -> [Tensor?] {
        var values = RunValues(count: plan.valueCount)
        for (index, value) in plan.initializerValues.enumerated() { values.tensors[value] = state.initializers[index].value }
        for input in plan.inputs {
            guard let tensor = inputs[input.name] else { throw ONNXError.invalidInput(name: input.name, reason: "missing") }
            values.tensors[input.value] = try ONNXGraphModule.converted(tensor, for: input)
        }
        // Steps already computed as part of a fused chain (not necessarily adjacent in the order), or
        // skipped because an attention fusion computes them at its last step (`pendingAttention`).
        var fused = Set<Int>()
        var pendingAttention: [Int: ONNXGraphPlan.Fusion] = [:]
        for (index, step) in plan.steps.enumerated() {
            if fused.contains(index) {
                try afterStep(index, step, values: &values, keepingAll: keepingAll)
                continue
            }
            if let attention = pendingAttention.removeValue(forKey: index) {
                try runAttention(attention, values: &values)
                try afterStep(index, step, values: &values, keepingAll: keepingAll)
                continue
            }
            for (position, value) in step.inputs.enumerated() where value != nil && values.tensors[value!] == nil {
                throw step.node.failure("input '\(step.node.inputs[position])' has no value")
            }
            let fusion = keepingAll ? nil : plan.fusions[index]
            if let fusion, fusion.attention != nil {
                if fusableChain(fusion) != nil {
                    fused.formUnion(fusion.chain.dropLast())
                    pendingAttention[fusion.chain.last!] = fusion
                    try afterStep(index, step, values: &values, keepingAll: keepingAll)
                    continue
                }
            }
            let chain = fusion?.attention == nil ? fusion.flatMap(fusableChain) : nil
            if runsChannelsLast && plan.channelsLastSteps.contains(index) {
                let arguments = step.inputs.map { $0.flatMap(values.value) }
                if let result = try ONNXChannelsLast.run(chain ?? [index], plan: plan, arguments: arguments,
                                                         inputsOf: { self.plan.steps[$0].inputs.map { $0.flatMap { values.tensors[$0] } } },
                                                         cacheOf: { self.state.caches[$0] }) {
                    let output = plan.steps[chain?.last ?? index].outputs[0]
                    values.tensors[output] = result.tensor
                    values.channelsLast[output] = result.channelsLast
                    if let chain { fused.formUnion(chain.dropFirst()) }
                    try afterStep(index, step, values: &values, keepingAll: keepingAll)
                    continue
                }
            }
            // NCHW: channels-last inputs converted (and kept converted for later readers).
            let arguments = step.inputs.map { $0.flatMap { values.logical($0) } }
            if let chain {
                // Every operand NCHW (a residual joined in a GEMM is read from the table).
                for value in chain.flatMap({ plan.steps[$0].inputs }) { if let value { _ = values.logical(value) } }
                let output = try runFused(chain, arguments: arguments, values: values.tensors)
                values.tensors[plan.steps[chain.last!].outputs[0]] = output
                fused.formUnion(chain.dropFirst())
                try afterStep(index, step, values: &values, keepingAll: keepingAll)
                continue
            }
            try runStep(index, arguments: arguments, values: &values)
            try afterStep(index, step, values: &values, keepingAll: keepingAll)
        }
        // What leaves the run is NCHW.
        for value in keepingAll ? Array(0..<plan.valueCount) : plan.outputValues { _ = values.logical(value) }
        return values.tensors
    }

    /// Whether steps of channels-last groups run channels-last (`ONNXChannelsLast`); when false every
    /// step runs on NCHW tensors, the reference the channels-last run is tested against.
    /// `PERISCOPE_CHANNELS_LAST=0` turns it off for the process (for comparisons).
    public var runsChannelsLast = ONNXGraphModule.channelsLastByDefault

    static let channelsLastByDefault = getenv("PERISCOPE_CHANNELS_LAST").map { String(cString: $0) != "0" } ?? true

    /// The run's values (by value id) and which of them are stored channels-last.
    private struct RunValues {
        var tensors: [Tensor?]
        var channelsLast: [Bool]

        init(count: Int) {
            tensors = [Tensor?](repeating: nil, count: count)
            channelsLast = [Bool](repeating: false, count: count)
        }

        func value(_ id: Int) -> ONNXChannelsLast.Value? {
            tensors[id].map { ONNXChannelsLast.Value(tensor: $0, channelsLast: channelsLast[id]) }
        }

        /// The NCHW tensor of value `id`, converted (once) if it is stored channels-last.
        mutating func logical(_ id: Int) -> Tensor? {
            if channelsLast[id], let tensor = tensors[id] {
                tensors[id] = tensor.channelsFirst()
                channelsLast[id] = false
            }
            return tensors[id]
        }
    }

    private func afterStep(_ index: Int, _ step: ONNXGraphPlan.Step, values: inout RunValues, keepingAll: Bool) throws {
        let module = state.stepModules[index]
        if !module.canSkipHooks, let output = step.outputs.first, let tensor = values.logical(output) {
            let input = step.inputs.compactMap { $0 }.first.flatMap { values.logical($0) } ?? tensor
            values.tensors[output] = try module.callWithHooks(inputs: [input]) { _ in tensor }
        }
        for containerIndex in plan.containersEndingAt[index] ?? [] {
            let container = state.containerModules[containerIndex]
            guard !container.canSkipHooks, let output = step.outputs.first, let tensor = values.logical(output) else { continue }
            let input = plan.containers[containerIndex].inputValue.flatMap { values.logical($0) } ?? tensor
            values.tensors[output] = try container.callWithHooks(inputs: [input]) { _ in tensor }
        }
        if keepingAll { return }
        for value in step.inputs.compactMap({ $0 }) where plan.lastUse[value] == index { values.tensors[value] = nil }
        for containerIndex in plan.containersEndingAt[index] ?? [] {
            if let value = plan.containers[containerIndex].inputValue, plan.lastUse[value] == index { values.tensors[value] = nil }
        }
    }

    /// Step `index` alone, on NCHW `arguments`: its outputs into the table.
    private func runStep(_ index: Int, arguments: [Tensor?], values: inout RunValues) throws {
        let step = plan.steps[index]
        let outputs = try ONNXOperators.run(step.node, inputs: arguments, opset: plan.opset, cache: state.caches[index])
        for (position, value) in step.outputs.enumerated() where position < outputs.count { values.tensors[value] = outputs[position] }
    }

    /// An attention fusion at its last step: one `Tensor.headMajorAttention` from the operands, or — for
    /// layouts it does not take — the chain's steps one by one.
    private func runAttention(_ fusion: ONNXGraphPlan.Fusion, values: inout RunValues) throws {
        let attention = fusion.attention!
        let output = plan.steps[fusion.chain.last!].outputs[0]
        if let query = values.logical(attention.query), let key = values.logical(attention.key), let value = values.logical(attention.value),
           let result = Tensor.headMajorAttention(query: query, key: key, keysTransposed: true, value: value,
                                                  additiveMask: attention.mask.flatMap { values.logical($0) },
                                                  scale: attention.scale, fullyMaskedRow: attention.fullyMaskedRow) {
            values.tensors[output] = result
            return
        }
        for index in fusion.chain {
            try runStep(index, arguments: plan.steps[index].inputs.map { $0.flatMap { values.logical($0) } }, values: &values)
        }
        // The chain's intermediate values had their last use inside it.
        for index in fusion.chain.dropLast() { for value in plan.steps[index].outputs { values.tensors[value] = nil } }
    }

    private func fusableChain(_ fusion: ONNXGraphPlan.Fusion) -> [Int]? {
        var chain: [Int] = []
        for (position, index) in fusion.chain.enumerated() {
            guard state.stepModules[index].canSkipHooks else { break }
            chain.append(index)
            // Containers ending at this step would observe its value; only the last step may have them.
            // (A SiLU's Sigmoid cut from its Mul is dropped below: the Mul also reads the value before it.)
            if position < fusion.chain.count - 1,
               (plan.containersEndingAt[index] ?? []).contains(where: { !state.containerModules[$0].canSkipHooks }) {
                break
            }
        }
        if chain.count < fusion.chain.count, let last = chain.last, plan.steps[last].node.operatorType == "Sigmoid" {
            chain.removeLast()
        }
        if chain.count < fusion.chain.count, let shortest = fusion.shortestCut {
            guard chain.count >= shortest else { return nil }
            chain = Array(chain.prefix(shortest))
        }
        return chain.count >= 2 ? chain : nil
    }

    /// Runs a fused chain and returns the last step's output.
    private func runFused(_ chain: [Int], arguments: [Tensor?], values: [Tensor?]) throws -> Tensor {
        let head = plan.steps[chain[0]]
        let cache = state.caches[chain[0]]
        func inputsOf(_ index: Int) -> [Tensor?] { plan.steps[index].inputs.map { $0.flatMap { values[$0] } } }
        switch head.node.operatorType {
        case "Conv":
            let (batchNorm, activation) = ONNXChannelsLast.epilogue(of: chain, plan: plan, inputsOf: inputsOf)
            return try ONNXOperators.convolution(head.node, arguments, batchNorm: batchNorm, activation: activation, cache: cache)
        case "Mul":
            // Squeeze-and-excitation's scale, then the Conv chain reading it (scaled weights only channels-last).
            let convolution = Array(chain.dropFirst())
            var convolutionArguments = inputsOf(convolution[0])
            convolutionArguments[0] = try ONNXOperators.arithmetic(head.node, arguments)
            let (batchNorm, activation) = ONNXChannelsLast.epilogue(of: convolution, plan: plan, inputsOf: inputsOf)
            return try ONNXOperators.convolution(plan.steps[convolution[0]].node, convolutionArguments, batchNorm: batchNorm,
                                                 activation: activation, cache: state.caches[convolution[0]])
        case "Softmax":
            // Then Where(IsNaN(s), c, s): NaNs replaced by c in the same buffer (c is a load-time constant,
            // whose Constant node may come later in the order).
            var result = try ONNXOperators.run(head.node, inputs: arguments, opset: plan.opset, cache: cache)[0]
            let selection = plan.steps[chain[2]]
            guard let replacement = selection.inputs[1].flatMap({ plan.scalarConstants[$0] }), result.dtype == .float32 else {
                throw selection.node.failure("the replacement of NaN must be a single float constant")
            }
            result.withMutableFloats { floats in
                for i in floats.indices where floats[i].isNaN { floats[i] = replacement }
            }
            return result
        case "Sigmoid":
            return try ONNXOperators.floatInput(arguments, 0, head.node).silu()
        case "Add":
            let a = try ONNXOperators.input(arguments, 0, head.node), b = try ONNXOperators.input(arguments, 1, head.node)
            guard a.dtype == .float32, b.dtype == .float32 else {
                return try ONNXOperators.unary(plan.steps[chain[1]].node, [ONNXOperators.arithmetic(head.node, arguments)])
            }
            _ = try ONNXBroadcast.shape([a.shape, b.shape], node: head.node)
            return Tensor.addingReLU(a, b)
        default:
            // MatMul + Add: the bias rides in the GEMM epilogue when it is a vector over the output columns.
            let add = plan.steps[chain[1]]
            let bias = add.inputs.compactMap { $0 }.first { $0 != head.outputs[0] }.flatMap { values[$0] }
            let weight = arguments.count > 1 ? arguments[1] : nil
            // Past the bias, the chain is the exporter's erf GELU or a residual Add (`ONNXGraphPlan.findFusions`).
            let join = chain.count == 3 ? plan.steps[chain[2]] : nil
            let activation: FusedActivation = chain.count > 3 ? .gelu(.none) : .none
            let residual = join?.inputs.compactMap { $0 }.first { $0 != add.outputs[0] }.flatMap { values[$0] }
            if let bias, let weight, weight.rank == 2, bias.dtype == .float32, bias.shape == [weight.shape[1]] {
                let x = try ONNXOperators.floatInput(arguments, 0, head.node)
                if let residual, residual.dtype == .float32, x.rank >= 2, residual.shape == Array(x.shape.dropLast()) + [weight.shape[1]] {
                    return try ONNXOperators.matmul(head.node, arguments, bias: bias, adding: residual, cache: cache)
                }
                let output = try ONNXOperators.matmul(head.node, arguments, bias: bias, activation: activation, cache: cache)
                return try join.map { try ONNXOperators.arithmetic($0.node, [output, residual]) } ?? output
            }
            let product = try ONNXOperators.matmul(head.node, arguments, bias: nil, cache: cache)
            var addInputs = inputsOf(chain[1])
            for (position, value) in add.inputs.enumerated() where value == head.outputs[0] { addInputs[position] = product }
            let sum = try ONNXOperators.arithmetic(add.node, addInputs)
            if let join { return try ONNXOperators.arithmetic(join.node, [sum, residual]) }
            return activation == .none ? sum : sum.gelu(approximation: .none)
        }
    }

    /// A caller's tensor in the compute dtype of the declared input, with its declared dims checked.
    static func converted(_ tensor: Tensor, for input: ONNXGraphPlan.Input) throws -> Tensor {
        if let shape = input.info.shape {
            guard shape.count == tensor.rank else {
                throw ONNXError.invalidInput(name: input.name, reason: "expected rank \(shape.count), got shape \(tensor.shape)")
            }
            for (axis, dimension) in shape.enumerated() {
                if case .value(let size) = dimension, size != tensor.shape[axis] {
                    throw ONNXError.invalidInput(name: input.name, reason: "expected dimension \(axis) to be \(size), got shape \(tensor.shape)")
                }
            }
        }
        let target = ONNXElementType(rawValue: input.info.elementType)?.computeType ?? (tensor.dtype.isFloatingPoint ? .float32 : .int64)
        if tensor.dtype == .bool && target != .bool { throw ONNXError.invalidInput(name: input.name, reason: "expected \(target), got bool") }
        return tensor.to(target)
    }

    /// `catalog` (traced from this module) in execution order: a graph's calls are zero-duration
    /// and containers' run at their end, so a traced catalog lists containers after their
    /// children; this puts each module call where it starts, parents before children.
    public func executionOrdered(_ catalog: LayerCatalog) -> LayerCatalog {
        var result = catalog
        let keys = catalog.layers.map { layer -> (Int, Int) in
            let steps = plan.callSteps[layer.modulePath] ?? []
            let step = layer.call < steps.count ? steps[layer.call] : Int.max
            return (step, layer.modulePath.split(separator: ".").count)
        }
        result.layers = catalog.layers.indices.sorted { keys[$0] < keys[$1] || (keys[$0] == keys[$1] && $0 < $1) }.map { catalog.layers[$0] }
        return result
    }
}

/// A node's module: a leaf whose type name is its operator (`Conv`, `Gemm`). It has no parameters
/// of its own (the graph's initializers live on the root) and never runs by itself: the graph
/// runs its node and calls its hooks.
final class ONNXNodeModule: Module {
    let operatorType: String

    init(operatorType: String) {
        self.operatorType = operatorType
        super.init()
    }

    override var typeName: String { operatorType }
}

/// A scope of the graph (`layer1`, `layer1.0`): a container of node modules and sub-scopes whose
/// output is its last node's (see `ONNXGraphPlan`).
final class ONNXScopeModule: Module {
    override var typeName: String { "Scope" }
}
