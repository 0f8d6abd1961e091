import NN
import Tensors

/// Channels-last execution of convolution chains built from 1×1 and depthwise convolutions
/// (MobileNet, EfficientNet, ConvNeXt blocks), the way PyTorch's `channels_last` memory format
/// and ONNX Runtime's blocked layout do it. In NCHW a 1×1 convolution at 7×7 is a GEMM with 49
/// columns and a depthwise row of 7 fills 7 of 16 lanes; channels-last, the 1×1 convolution is a
/// row-major GEMM over N·H·W rows (the linear layer's kernel) and the depthwise convolution
/// vectorizes over channels.
///
/// **Where.** At plan time, steps that can run channels-last are found (1×1 and depthwise Conv
/// with constant weights, element-wise functions, Add/Mul/Sub/Div, GlobalAveragePool (or ReduceMean
/// over H and W), and the
/// Transposes between NCHW and NHWC); connected groups of them that contain a depthwise
/// convolution run channels-last. Other graphs (ResNet, ViT, BERT) are untouched.
///
/// **Values.** A channels-last value is stored as its NHWC tensor ([N, H, W, C]) with a flag in
/// the run's layout table; logically it is still the NCHW tensor the graph describes. Each step
/// decides at run time from its inputs' layouts: a step outside the groups, a hook, a container
/// or a graph output gets the NCHW tensor (converted once), so every observed value equals the
/// NCHW run's. Spatially 1×1 tensors are the same bytes in both layouts and stay NCHW.
enum ONNXChannelsLast {
    /// Unary functions that act element by element: any layout.
    static let elementwise: Set<String> = ["Relu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Clip", "LeakyRelu",
                                           "Elu", "Gelu", "Erf", "Neg", "Abs", "Identity", "Dropout"]
    static let binary: Set<String> = ["Add", "Sub", "Mul", "Div"]

    enum ConvolutionKind { case pointwise, depthwise }

    /// The convolution kind a Conv node has, judged from its attributes and constant weight [O, C/G, R, S].
    static func convolutionKind(_ node: ONNXNode, weight: Tensor?) -> ConvolutionKind? {
        guard node.operatorType == "Conv", let weight, weight.rank == 4,
              (try? node.string("auto_pad", default: "NOTSET")) == "NOTSET" else { return nil }
        let groups = (try? node.int("group", default: 1)) ?? 1
        let pads = (try? node.ints("pads")) ?? [0, 0, 0, 0]
        guard pads.count == 4, pads[0] == pads[2], pads[1] == pads[3] else { return nil }
        let strides = (try? node.ints("strides")) ?? [1, 1], dilations = (try? node.ints("dilations")) ?? [1, 1]
        if groups == 1 && weight.shape[2] == 1 && weight.shape[3] == 1 && pads.allSatisfy({ $0 == 0 })
            && strides == [1, 1] && dilations == [1, 1] {
            return .pointwise
        }
        if groups > 1 && weight.shape[0] == groups && weight.shape[1] == 1 { return .depthwise }
        return nil
    }

    /// The steps that run channels-last: connected groups of eligible steps holding a depthwise convolution.
    static func steps(_ steps: [ONNXGraphPlan.Step], initializers: [Int: Tensor]) -> Set<Int> {
        // Initializers, also under the names Identity nodes give them (shared weights in TorchScript exports).
        var initializers = initializers
        for step in steps where step.node.operatorType == "Identity" {
            if let source = step.inputs.first ?? nil, let tensor = initializers[source], let output = step.outputs.first {
                initializers[output] = tensor
            }
        }
        var eligible = [Bool](repeating: false, count: steps.count)
        var depthwise = [Bool](repeating: false, count: steps.count)
        for (index, step) in steps.enumerated() {
            let type = step.node.operatorType
            switch type {
            case "Conv":
                let weight = step.inputs.count > 1 ? step.inputs[1].flatMap { initializers[$0] } : nil
                let biasIsConstant = step.inputs.count < 3 || step.inputs[2].map { initializers[$0] != nil } ?? true
                let kind = biasIsConstant ? convolutionKind(step.node, weight: weight) : nil
                eligible[index] = kind != nil
                depthwise[index] = kind == .depthwise
            case "BatchNormalization":
                eligible[index] = true  // only ever as part of a fused convolution chain (see `run`)
            case "GlobalAveragePool", "ReduceMean":
                eligible[index] = true  // ReduceMean: over the spatial axes only (checked when it runs)
            case "Transpose":
                let order = try? step.node.ints("perm")
                eligible[index] = order == [0, 2, 3, 1] || order == [0, 3, 1, 2]
            default:
                eligible[index] = elementwise.contains(type) || binary.contains(type)
            }
        }
        // Union-find over values read and written by eligible steps.
        var parent = Array(0..<steps.count)
        func root(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        var producer: [Int: Int] = [:]
        for (index, step) in steps.enumerated() where eligible[index] { for value in step.outputs { producer[value] = index } }
        for (index, step) in steps.enumerated() where eligible[index] {
            for value in step.inputs.compactMap({ $0 }) {
                if let source = producer[value] { parent[root(source)] = root(index) }
            }
        }
        let withDepthwise = Set((0..<steps.count).filter { depthwise[$0] }.map(root))
        return Set((0..<steps.count).filter { eligible[$0] && withDepthwise.contains(root($0)) })
    }

    // MARK: - Run time

    /// A value and its layout.
    struct Value {
        var tensor: Tensor
        var channelsLast: Bool

        /// The NCHW tensor.
        var logical: Tensor { channelsLast ? tensor.channelsFirst() : tensor }
    }

    /// Runs `chain` (one step, or a fused chain headed by a Conv, a Sigmoid for SiLU, an Add for
    /// Add → Relu or a squeeze-and-excitation Mul before a 1×1 Conv) on channels-last values where it
    /// can; nil when it cannot, and the caller runs it on NCHW tensors.
    static func run(_ chain: [Int], plan: ONNXGraphPlan, arguments: [Value?], inputsOf: (Int) -> [Tensor?],
                    cacheOf: (Int) -> ONNXStepCache) throws -> Value? {
        let head = plan.steps[chain[0]]
        let node = head.node
        let cache = cacheOf(chain[0])
        guard let first = arguments.first ?? nil else { return nil }
        switch node.operatorType {
        case "Mul" where chain.count > 1:
            return try scaledPointwise(chain, plan: plan, arguments: arguments, inputsOf: inputsOf, cacheOf: cacheOf)
        case "Conv":
            return try convolution(chain, plan: plan, input: first, arguments: arguments, inputsOf: inputsOf, cache: cache)
        case "GlobalAveragePool":
            guard chain.count == 1, first.channelsLast, first.tensor.dtype == .float32 else { return nil }
            return spatialMean(first.tensor)
        case "ReduceMean":
            // Over H and W with the dimensions kept: GlobalAveragePool as the dynamo exporter writes it.
            guard chain.count == 1, first.channelsLast, first.tensor.dtype == .float32, try node.int("keepdims", default: 1) == 1,
                  let axes = try ONNXOperators.axesArgument(node, arguments.map { $0?.tensor }, index: 1),
                  Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == [2, 3] else { return nil }
            return spatialMean(first.tensor)
        case "Transpose":
            guard chain.count == 1 else { return nil }
            let order = try node.ints("perm")
            if order == [0, 2, 3, 1] && first.channelsLast { return Value(tensor: first.tensor, channelsLast: false) }
            if order == [0, 3, 1, 2] && !first.channelsLast && first.tensor.rank == 4 && first.tensor.shape[1] * first.tensor.shape[2] > 1 {
                return Value(tensor: first.tensor, channelsLast: true)
            }
            return nil
        case "Sigmoid" where chain.count == 2:
            // SiLU (Sigmoid, then the Mul by its input): element-wise.
            return Value(tensor: try ONNXOperators.floatInput([first.tensor], 0, node).silu(), channelsLast: first.channelsLast)
        case let type where elementwise.contains(type) && chain.count == 1:
            guard first.channelsLast else { return nil }
            var inputs = arguments.map { $0?.tensor }
            inputs[0] = first.tensor
            return Value(tensor: try ONNXOperators.run(node, inputs: inputs, opset: plan.opset, cache: cache)[0], channelsLast: true)
        case let type where binary.contains(type):
            guard arguments.count == 2, let a = arguments[0], let b = arguments[1], a.channelsLast || b.channelsLast,
                  let (x, y) = physicalOperands(a, b) else { return nil }
            if chain.count == 2 {
                // Add → Relu.
                guard type == "Add", x.dtype == .float32, y.dtype == .float32, x.shape == y.shape else { return nil }
                return Value(tensor: Tensor.addingReLU(x, y), channelsLast: true)
            }
            return Value(tensor: try ONNXOperators.arithmetic(node, [x, y]), channelsLast: true)
        default:
            return nil
        }
    }

    /// The mean over H and W of channels-last `x` [N, H, W, C]: [N, C, 1, 1], the same bytes in both layouts.
    private static func spatialMean(_ x: Tensor) -> Value {
        Value(tensor: x.mean(axes: [1, 2]).reshaped([x.shape[0], x.shape[3], 1, 1]), channelsLast: false)
    }

    /// The two operands of a binary op as channels-last tensors that broadcast to the channels-last
    /// result: both channels-last with one shape, or one channels-last and the other constant over
    /// the spatial axes (per channel, per sample or a scalar: [N|1, C|1, 1, 1], [C, 1, 1], []).
    private static func physicalOperands(_ a: Value, _ b: Value) -> (Tensor, Tensor)? {
        if a.channelsLast && b.channelsLast { return a.tensor.shape == b.tensor.shape ? (a.tensor, b.tensor) : nil }
        let (spatial, other) = a.channelsLast ? (a.tensor, b.tensor) : (b.tensor, a.tensor)
        guard other.rank <= 4 else { return nil }
        let padded = [Int](repeating: 1, count: 4 - other.rank) + other.shape
        guard padded[2] == 1, padded[3] == 1, padded[0] == 1 || padded[0] == spatial.shape[0],
              padded[1] == 1 || padded[1] == spatial.shape[3] else { return nil }
        let moved = other.reshaped([padded[0], 1, 1, padded[1]])
        return a.channelsLast ? (spatial, moved) : (moved, spatial)
    }

    /// Squeeze-and-excitation's Mul(x, gate) and the 1×1 Conv (with its BatchNorm and activation) reading it.
    /// The gate [N|1, C, 1, 1] scales the convolution's input channels, so per sample the result is
    /// x · (W ⊙ gate)ᵀ: when a sample has more pixels than the convolution has outputs, scaling the weights
    /// (O·C multiplies, and packing them) costs less than scaling the activations (H·W·C); otherwise the Mul
    /// runs, then the convolution. Inference only (the scaled weights record no gradient).
    private static func scaledPointwise(_ chain: [Int], plan: ONNXGraphPlan, arguments: [Value?], inputsOf: (Int) -> [Tensor?],
                                        cacheOf: (Int) -> ONNXStepCache) throws -> Value? {
        guard !GradMode.isEnabled, arguments.count == 2, let a = arguments[0], let b = arguments[1] else { return nil }
        func isGate(_ value: Value) -> Bool {
            !value.channelsLast && value.tensor.rank == 4 && value.tensor.shape[2] == 1 && value.tensor.shape[3] == 1
        }
        guard isGate(a) != isGate(b) else { return nil }
        let (x, gate) = isGate(b) ? (a, b.tensor) : (b, a.tensor)
        let convolutionIndex = chain[1], cache = cacheOf(convolutionIndex)
        var convolutionArguments = inputsOf(convolutionIndex).map { $0.map { Value(tensor: $0, channelsLast: false) } }
        let shape = x.channelsLast ? [x.tensor.shape[0], x.tensor.shape[3], x.tensor.shape[1], x.tensor.shape[2]] : x.tensor.shape
        guard cache.weightIsConstant, let weight = convolutionArguments.count > 1 ? convolutionArguments[1]?.tensor : nil,
              convolutionKind(plan.steps[convolutionIndex].node, weight: weight) == .pointwise, shape.count == 4,
              x.tensor.dtype == .float32, gate.dtype == .float32, weight.dtype == .float32, weight.shape[1] == shape[1],
              gate.shape[1] == shape[1], gate.shape[0] == shape[0] || gate.shape[0] == 1 else { return nil }
        let (samples, channels, pixels, outputs) = (shape[0], shape[1], shape[2] * shape[3], weight.shape[0])
        guard pixels > outputs else {
            // Scaling the activations costs less: the Mul, then the convolution's own chain.
            guard let product = try run([chain[0]], plan: plan, arguments: arguments, inputsOf: inputsOf, cacheOf: cacheOf) else { return nil }
            convolutionArguments[0] = product
            return try convolution(Array(chain.dropFirst()), plan: plan, input: product, arguments: convolutionArguments,
                                   inputsOf: inputsOf, cache: cache)
        }
        let bias = convolutionArguments.count > 2 ? convolutionArguments[2]?.tensor : nil
        if let bias, bias.shape != [outputs] || bias.dtype != .float32 { return nil }
        let (batchNorm, activation) = epilogue(of: Array(chain.dropFirst()), plan: plan, inputsOf: inputsOf)
        let normalization = try ONNXOperators.batchNormParameters(batchNorm, outputs: outputs)
        let packed = ONNXOperators.packedConvolutionWeights(weight: weight, bias: bias, normalization: normalization, cache: cache)
        let folded = packed.matrix.source.reshaped([outputs, channels])
        let rows = (x.channelsLast ? x.tensor : x.tensor.channelsLast()).reshaped([samples, pixels, channels])
        let results = (0..<samples).map { sample in
            let scale = gate.sliced(axis: 0, gate.shape[0] == 1 ? 0..<1 : sample..<(sample + 1)).reshaped([1, channels])
            return Tensor.linear(rows.sliced(axis: 0, sample..<(sample + 1)).reshaped([pixels, channels]),
                                 packedWeight: PackedMatrix((folded * scale).detached()), bias: packed.bias, activation: activation)
        }
        let y = samples == 1 ? results[0] : Tensor.concatenate(results, axis: 0)
        return Value(tensor: y.reshaped([samples, shape[2], shape[3], outputs]), channelsLast: true)
    }

    /// The BatchNormalization and activation fused after a convolution: the rest of its chain.
    static func epilogue(of chain: [Int], plan: ONNXGraphPlan, inputsOf: (Int) -> [Tensor?])
        -> (batchNorm: (node: ONNXNode, inputs: [Tensor?])?, activation: FusedActivation) {
        var batchNorm: (node: ONNXNode, inputs: [Tensor?])?
        var activation = FusedActivation.none
        for index in chain.dropFirst() {
            let step = plan.steps[index]
            switch step.node.operatorType {
            case "BatchNormalization": batchNorm = (step.node, inputsOf(index))
            case "Relu": activation = .relu
            case "Mul": activation = .silu  // Sigmoid, then the Mul that makes it SiLU
            default: break
            }
        }
        return (batchNorm, activation)
    }

    /// A 1×1 or depthwise Conv (with its fused BatchNorm and activation) on channels-last data.
    private static func convolution(_ chain: [Int], plan: ONNXGraphPlan, input: Value, arguments: [Value?],
                                    inputsOf: (Int) -> [Tensor?], cache: ONNXStepCache) throws -> Value? {
        let node = plan.steps[chain[0]].node
        guard cache.weightIsConstant, let weight = arguments.count > 1 ? arguments[1]?.tensor : nil,
              let kind = convolutionKind(node, weight: weight), weight.dtype == .float32, input.tensor.dtype == .float32 else { return nil }
        let bias = arguments.count > 2 ? arguments[2]?.tensor : nil
        let (batchNorm, activation) = epilogue(of: chain, plan: plan, inputsOf: inputsOf)
        let outputs = weight.shape[0]
        // NCHW shape of the input, whatever its layout.
        let shape = input.channelsLast ? [input.tensor.shape[0], input.tensor.shape[3], input.tensor.shape[1], input.tensor.shape[2]]
                                       : input.tensor.shape
        guard shape.count == 4, shape[1] == weight.shape[1] * (kind == .depthwise ? outputs : 1) else { return nil }
        if let bias, bias.shape != [outputs] || bias.dtype != .float32 { return nil }
        let normalization = try ONNXOperators.batchNormParameters(batchNorm, outputs: outputs)
        let packed = ONNXOperators.packedConvolutionWeights(weight: weight, bias: bias, normalization: normalization, cache: cache)
        switch kind {
        case .pointwise:
            let spatial = shape[2] * shape[3]
            // A 1×1 plane is the same bytes in both layouts: stays NCHW.
            let x = input.channelsLast || spatial == 1 ? input.tensor : input.tensor.channelsLast()
            let rows = x.reshaped([shape[0] * spatial, shape[1]])
            let y = Tensor.linear(rows, packedWeight: packed.matrix, bias: packed.bias, activation: activation)
            if spatial == 1 { return Value(tensor: y.reshaped([shape[0], outputs, 1, 1]), channelsLast: false) }
            return Value(tensor: y.reshaped([shape[0], shape[2], shape[3], outputs]), channelsLast: true)
        case .depthwise:
            guard shape[2] * shape[3] > 1 else { return nil }
            let pads = try node.ints("pads") ?? [0, 0, 0, 0]
            let strides = try node.ints("strides") ?? [1, 1], dilations = try node.ints("dilations") ?? [1, 1]
            guard strides.count == 2, dilations.count == 2, strides.allSatisfy({ $0 > 0 }), dilations.allSatisfy({ $0 > 0 }) else { return nil }
            let kernel = (weight.shape[2], weight.shape[3])
            guard shape[2] + 2 * pads[0] >= dilations[0] * (kernel.0 - 1) + 1,
                  shape[3] + 2 * pads[1] >= dilations[1] * (kernel.1 - 1) + 1 else { return nil }
            let taps = packed.derived("depthwise-taps") { Tensor.depthwiseTaps(packed.matrix.source.reshaped(weight.shape)) }
            let x = input.channelsLast ? input.tensor : input.tensor.channelsLast()
            let y = Tensor.depthwiseConv2dChannelsLast(x, taps: taps, bias: packed.bias, kernelSize: kernel,
                                                       stride: (strides[0], strides[1]), padding: (pads[0], pads[1]),
                                                       dilation: (dilations[0], dilations[1]), activation: activation)
            return Value(tensor: y, channelsLast: true)
        }
    }
}
