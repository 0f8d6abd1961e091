import Foundation
import NN
import Tensors
import TestSupport
import Testing
@testable import ONNX

@Suite struct ONNXGraphPlanTests {
    static func plan(_ name: String) throws -> ONNXGraphPlan {
        try ONNXGraphPlan(model: ONNXModelProto.read(contentsOf: Fixtures.url("onnx/\(name).onnx")))
    }

    @Test func torchScriptScopesBecomePyTorchModuleNames() throws {
        let module = ONNXGraphModule(plan: try Self.plan("tiny_resnet"))
        let names = module.namedModules().dropFirst().map(\.name)
        #expect(names == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer1.0", "layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu",
                          "layer1.0.conv2", "layer1.0.bn2", "layer1.0.Add", "layer1.0.relu_1", "layer2", "layer2.0",
                          "layer2.0.downsample", "layer2.0.downsample.0", "layer2.0.downsample.1", "layer2.0.conv1", "layer2.0.bn1",
                          "layer2.0.relu", "layer2.0.conv2", "layer2.0.bn2", "layer2.0.Add", "layer2.0.relu_1", "avgpool", "Flatten", "fc"])
        #expect(module.module(at: "layer1.0.conv1")?.typeName == "Conv")
        #expect(module.module(at: "layer2.0")?.typeName == "Scope")
    }

    @Test func dynamoScopesBecomePyTorchModuleNames() throws {
        let module = ONNXGraphModule(plan: try Self.plan("mobile_block"))
        let names = Set(module.namedModules().map(\.name))
        for expected in ["stem", "stem.2", "block.2.fc1", "block.2.scale_activation", "classifier.0", "classifier.3"] {
            #expect(names.contains(expected), "\(expected) missing from \(names.sorted())")
        }
    }

    @Test func stateDictKeysAreInitializerNames() throws {
        let plan = try Self.plan("tiny_resnet")
        let module = ONNXGraphModule(plan: plan)
        #expect(module.stateDict().keys == plan.initializers.map(\.name))
        #expect(module.stateDict().keys.contains("layer1.0.conv1.weight"))
    }

    @Test func tensorNamesMapToLayerNames() throws {
        let plan = try Self.plan("tiny_resnet")
        #expect(plan.tensorLayerNames["/layer1/layer1.0/conv1/Conv_output_0"] == "layer1.0.conv1")
        #expect(plan.tensorLayerNames["logits"] == "fc")
    }

    @Test func fusionsCoverConvolutionChainsResidualJoinsAndSiLU() throws {
        let plan = try Self.plan("ops_zoo")
        let heads = Dictionary(grouping: plan.fusions.values.map { plan.steps[$0.chain[0]].node.operatorType }, by: { $0 }).mapValues(\.count)
        // The zoo's Mul(x, Sigmoid(x)) feeds its output; the fused forward (ONNXParityTests) runs it as one SiLU.
        #expect(heads["Sigmoid"] == 1)
        let silu = try #require(plan.fusions.values.first { plan.steps[$0.chain[0]].node.operatorType == "Sigmoid" })
        #expect(silu.chain.map { plan.steps[$0].node.operatorType } == ["Sigmoid", "Mul"])
        // The residual joins of a ResNet export: Add → Relu, next to its Conv → Relu chains.
        let tinyResNet = try Self.plan("tiny_resnet")
        let joins = tinyResNet.fusions.values.filter { tinyResNet.steps[$0.chain[0]].node.operatorType == "Add" }
        #expect(joins.count == 2)
        #expect(joins.allSatisfy { $0.chain.map { tinyResNet.steps[$0].node.operatorType } == ["Add", "Relu"] })
        #expect(tinyResNet.fusions.values.allSatisfy { ["Conv", "Add"].contains(tinyResNet.steps[$0.chain[0]].node.operatorType) })
    }

    /// Conv → Sigmoid → Mul (a SiLU as torch.onnx exports it, EfficientNet's blocks) fuses into the
    /// convolution's epilogue, for a plain and a depthwise convolution; the fused forward agrees
    /// with the unfused values, and a hook on the convolution keeps its value observable.
    @Test func convolutionFollowedBySiLUFusesIntoTheEpilogue() throws {
        typealias W = ProtobufWriter
        func floats(_ count: Int, seed: UInt64) -> [Float] { randomTensor([count], seed: seed).toArray() }
        let bytes = W.model(
            nodes: [
                W.node("Conv", inputs: ["x", "w1", "b1"], outputs: ["y1"], name: "/conv1/Conv", attributes: [W.intsAttribute("pads", [1, 1, 1, 1])]),
                W.node("Sigmoid", inputs: ["y1"], outputs: ["s1"], name: "/act1/Sigmoid"),
                W.node("Mul", inputs: ["y1", "s1"], outputs: ["z1"], name: "/act1/Mul"),
                W.node("Conv", inputs: ["z1", "w2", "b2"], outputs: ["y2"], name: "/conv2/Conv",
                       attributes: [W.intsAttribute("pads", [1, 1, 1, 1]), W.intsAttribute("strides", [2, 2]),
                                    W.string(1, "group") + W.int(3, 4) + W.int(20, 2)]),
                W.node("Sigmoid", inputs: ["y2"], outputs: ["s2"], name: "/act2/Sigmoid"),
                W.node("Mul", inputs: ["s2", "y2"], outputs: ["z2"], name: "/act2/Mul"),
            ],
            initializers: [W.tensor(name: "w1", dims: [4, 3, 3, 3], floats: floats(108, seed: 1)),
                           W.tensor(name: "b1", dims: [4], floats: floats(4, seed: 2)),
                           W.tensor(name: "w2", dims: [4, 1, 3, 3], floats: floats(36, seed: 3)),
                           W.tensor(name: "b2", dims: [4], floats: floats(4, seed: 4))],
            inputs: [W.valueInfo("x", dims: [-1, 3, 9, 11])], outputs: [W.valueInfo("z2", dims: [-1, 4, 5, 6])])
        let plan = try ONNXGraphPlan(model: ONNXModelProto.decode(Data(bytes)))
        let chains = plan.fusions.values.map { $0.chain.map { plan.steps[$0].node.operatorType } }
        #expect(chains.filter { $0 == ["Conv", "Sigmoid", "Mul"] }.count == 2, "\(chains)")

        let module = ONNXGraphModule(plan: plan)
        let input = randomTensor([2, 3, 9, 11], seed: 5)
        let (fused, unfused) = try GradMode.withDisabled {
            (try module(inputs: ["x": input]), try module.allValues(inputs: ["x": input])["z2"]!)
        }
        #expect(fused.shape == [2, 4, 5, 6])
        #expect(isClose(fused, unfused, tolerance: 1e-6), "\(String(describing: difference(fused, unfused)))")
        // A hook on the first convolution sees its pre-activation output; the result is unchanged.
        let convolution = try #require(module.namedModules().first { $0.name == "conv1" }?.module)
        nonisolated(unsafe) var observed: Tensor?
        let handle = convolution.registerForwardHook { _, _, output in observed = output; return nil }
        defer { handle.remove() }
        let hooked = try GradMode.withDisabled { try module(inputs: ["x": input]) }
        let preActivation = try GradMode.withDisabled { try module.allValues(inputs: ["x": input])["y1"]! }
        #expect(observed.map { isClose($0, preActivation, tolerance: 1e-6) } == true)
        #expect(isClose(hooked, unfused, tolerance: 1e-6))
    }

    /// MatMul → bias Add → GELU as torch.onnx exports it (Div by √2, Erf, Add 1, Mul by x, Mul by ½;
    /// BERT's and ViT's intermediate layers) fuses into the GEMM's epilogue when the constants are
    /// GELU's; the fused forward agrees with the unfused values, and a hook inside the GELU cuts the
    /// fusion back to MatMul + Add with the hooked value observable.
    @Test(arguments: [(Float(2).squareRoot(), true), (Float(2), false)])
    func matmulBiasAndExportedGELUFuseIntoTheEpilogue(divisor: Float, fuses: Bool) throws {
        typealias W = ProtobufWriter
        func floats(_ count: Int, seed: UInt64) -> [Float] { randomTensor([count], seed: seed).toArray() }
        let scalar = W.string(1, "value") + W.bytes(5, W.tensor(name: "", dims: [], floats: [divisor])) + W.int(20, 4)
        let bytes = W.model(
            nodes: [
                W.node("MatMul", inputs: ["x", "w"], outputs: ["m"], name: "/dense/MatMul"),
                W.node("Add", inputs: ["b", "m"], outputs: ["y"], name: "/dense/Add"),
                W.node("Constant", inputs: [], outputs: ["root2"], name: "/act/Constant", attributes: [scalar]),
                W.node("Div", inputs: ["y", "root2"], outputs: ["d"], name: "/act/Div"),
                W.node("Erf", inputs: ["d"], outputs: ["e"], name: "/act/Erf"),
                W.node("Add", inputs: ["e", "one"], outputs: ["p"], name: "/act/Add"),
                W.node("Mul", inputs: ["y", "p"], outputs: ["q"], name: "/act/Mul"),
                W.node("Mul", inputs: ["q", "half"], outputs: ["z"], name: "/act/Mul_1"),
            ],
            initializers: [W.tensor(name: "w", dims: [8, 24], floats: floats(192, seed: 1)),
                           W.tensor(name: "b", dims: [24], floats: floats(24, seed: 2)),
                           W.tensor(name: "one", dims: [], floats: [1]),
                           W.tensor(name: "half", dims: [], floats: [0.5])],
            inputs: [W.valueInfo("x", dims: [-1, 5, 8])], outputs: [W.valueInfo("z", dims: [-1, 5, 24])])
        let plan = try ONNXGraphPlan(model: ONNXModelProto.decode(Data(bytes)))
        let chains = plan.fusions.values.map { $0.chain.map { plan.steps[$0].node.operatorType } }
        #expect(chains == [fuses ? ["MatMul", "Add", "Div", "Erf", "Add", "Mul", "Mul"] : ["MatMul", "Add"]], "\(chains)")

        let module = ONNXGraphModule(plan: plan)
        let input = randomTensor([3, 5, 8], seed: 5)
        let (fused, values) = try GradMode.withDisabled {
            (try module(inputs: ["x": input]), try module.allValues(inputs: ["x": input]))
        }
        let unfused = try #require(values["z"])
        #expect(isClose(fused, unfused, tolerance: 1e-5), "\(String(describing: difference(fused, unfused)))")
        // A hook on the Erf node: the chain stops at the bias Add, the hook sees erf's value.
        let (hooked, observed) = try Self.runHooking("Erf", of: module, inputs: ["x": input])
        #expect(observed.map { isClose($0, values["e"]!, tolerance: 1e-6) } == true)
        #expect(isClose(hooked, unfused, tolerance: 1e-5))
    }

    /// MatMul + bias + the residual join (a transformer's output projections): one GEMM accumulating into a copy
    /// of the residual when the residual exists before the MatMul; a hook on the bias Add or on the join sees its value.
    @Test(arguments: [true, false])
    func matmulBiasAndResidualJoinFuse(residualFirst: Bool) throws {
        typealias W = ProtobufWriter
        func floats(_ count: Int, seed: UInt64) -> [Float] { randomTensor([count], seed: seed).toArray() }
        let residual = W.node("Relu", inputs: ["x"], outputs: ["r"], name: "/residual/Relu")
        let dense = [W.node("MatMul", inputs: ["x", "w"], outputs: ["m"], name: "/dense/MatMul"),
                     W.node("Add", inputs: ["b", "m"], outputs: ["y"], name: "/dense/Add")]
        let bytes = W.model(
            nodes: (residualFirst ? [residual] + dense : dense + [residual])
                + [W.node("Add", inputs: ["r", "y"], outputs: ["z"], name: "/join/Add")],
            initializers: [W.tensor(name: "w", dims: [8, 8], floats: floats(64, seed: 1)), W.tensor(name: "b", dims: [8], floats: floats(8, seed: 2))],
            inputs: [W.valueInfo("x", dims: [-1, 5, 8])], outputs: [W.valueInfo("z", dims: [-1, 5, 8])])
        let plan = try ONNXGraphPlan(model: ONNXModelProto.decode(Data(bytes)))
        let chains = plan.fusions.values.map { $0.chain.map { plan.steps[$0].node.operatorType } }
        #expect(chains == [residualFirst ? ["MatMul", "Add", "Add"] : ["MatMul", "Add"]], "\(chains)")

        let module = ONNXGraphModule(plan: plan)
        let input = randomTensor([3, 5, 8], seed: 5)
        let (fused, values) = try GradMode.withDisabled { (try module(inputs: ["x": input]), try module.allValues(inputs: ["x": input])) }
        let unfused = try #require(values["z"])
        #expect(isClose(fused, unfused, tolerance: 1e-5), "\(String(describing: difference(fused, unfused)))")
        for (occurrence, name) in [(0, "y"), (1, "z")] {
            let (hooked, observed) = try Self.runHooking("Add", occurrence: occurrence, of: module, inputs: ["x": input])
            #expect(observed.map { isClose($0, values[name]!, tolerance: 1e-5) } == true, "\(name)")
            #expect(isClose(hooked, unfused, tolerance: 1e-5))
        }
    }

    /// Softmax → IsNaN → Where(isNaN, 0, softmax), the SDPA export's masked softmax (the Constant
    /// after the Softmax in the order, as exported), fuses into one pass that zeroes the NaN rows;
    /// a hook on the IsNaN node turns the fusion off with its value observable.
    @Test func softmaxWithItsNaNRowsZeroedFuses() throws {
        typealias W = ProtobufWriter
        let zero = W.string(1, "value") + W.bytes(5, W.tensor(name: "", dims: [], floats: [0])) + W.int(20, 4)
        let bytes = W.model(
            nodes: [
                W.node("Softmax", inputs: ["x"], outputs: ["s"], name: "/attention/Softmax"),
                W.node("IsNaN", inputs: ["s"], outputs: ["n"], name: "/attention/IsNaN"),
                W.node("Constant", inputs: [], outputs: ["zero"], name: "/attention/Constant", attributes: [zero]),
                W.node("Where", inputs: ["n", "zero", "s"], outputs: ["y"], name: "/attention/Where"),
            ],
            inputs: [W.valueInfo("x", dims: [-1, 4, 6])], outputs: [W.valueInfo("y", dims: [-1, 4, 6])])
        let plan = try ONNXGraphPlan(model: ONNXModelProto.decode(Data(bytes)))
        let chains = plan.fusions.values.map { $0.chain.map { plan.steps[$0].node.operatorType } }
        #expect(chains == [["Softmax", "IsNaN", "Where"]], "\(chains)")

        let module = ONNXGraphModule(plan: plan)
        var scalars = randomTensor([2, 4, 6], seed: 7).toArray()
        scalars[8] = .nan  // a NaN logit: its row's softmax is NaN
        for i in 30..<36 { scalars[i] = -.infinity }  // a fully masked row: zeros (as SDPA; `Tensor.softmax`)
        let input = Tensor(shape: [2, 4, 6], scalars: scalars)
        let (fused, values) = try GradMode.withDisabled {
            (try module(inputs: ["x": input]), try module.allValues(inputs: ["x": input]))
        }
        let unfused = try #require(values["y"])
        let softmax = values["s"]!.toArray(), result = fused.toArray()
        let nanRow = softmax[6..<12].allSatisfy { $0.isNaN }
        let zeroed = result[6..<12].allSatisfy { $0 == 0 } && result[30..<36].allSatisfy { $0 == 0 }
        let anyNaN = result.contains { $0.isNaN }
        #expect(nanRow && zeroed && !anyNaN, "\(softmax) → \(result)")
        #expect(isClose(fused, unfused, tolerance: 1e-6), "\(String(describing: difference(fused, unfused)))")
        let (hooked, observed) = try Self.runHooking("IsNaN", of: module, inputs: ["x": input])
        #expect(observed?.shape == [2, 4, 6])
        #expect(isClose(hooked, unfused, tolerance: 1e-6))
    }

    /// Attention as transformers' SDPA export writes it — q and kᵀ each scaled, MatMul, + mask, Softmax,
    /// optionally Where(IsNaN(p), 0, p), MatMul with v — as one kernel step; `maskDims` of rank 5 makes the
    /// Add broadcast beyond the kernel's layouts (the steps then run one by one at the last step).
    static func attentionModel(zeroingNaN: Bool, maskDims: [Int64] = [2, 1, 3, 5]) throws -> ONNXGraphModule {
        typealias W = ProtobufWriter
        func constant(_ name: String, _ value: Float) -> [UInt8] {
            W.node("Constant", inputs: [], outputs: [name], name: "/attention/\(name)",
                   attributes: [W.string(1, "value") + W.bytes(5, W.tensor(name: "", dims: [], floats: [value])) + W.int(20, 4)])
        }
        var nodes = [
            constant("c1", 0.5), W.node("Mul", inputs: ["q", "c1"], outputs: ["qs"], name: "/attention/Mul"),
            constant("c2", 0.7), W.node("Mul", inputs: ["c2", "kt"], outputs: ["ks"], name: "/attention/Mul_1"),
            W.node("MatMul", inputs: ["qs", "ks"], outputs: ["scores"], name: "/attention/MatMul"),
            W.node("Add", inputs: ["mask", "scores"], outputs: ["logits"], name: "/attention/Add"),
            W.node("Softmax", inputs: ["logits"], outputs: ["p"], name: "/attention/Softmax"),
        ]
        if zeroingNaN {
            nodes += [W.node("IsNaN", inputs: ["p"], outputs: ["n"], name: "/attention/IsNaN"), constant("zero", 0),
                      W.node("Where", inputs: ["n", "zero", "p"], outputs: ["pz"], name: "/attention/Where")]
        }
        nodes.append(W.node("MatMul", inputs: [zeroingNaN ? "pz" : "p", "v"], outputs: ["y"], name: "/attention/MatMul_1"))
        let bytes = W.model(nodes: nodes,
                            inputs: [W.valueInfo("q", dims: [-1, 2, 3, 4]), W.valueInfo("kt", dims: [-1, 2, 4, 5]),
                                     W.valueInfo("v", dims: [-1, 2, 5, 4]), W.valueInfo("mask", dims: maskDims)],
                            outputs: [W.valueInfo("y", dims: [])])
        return ONNXGraphModule(plan: try ONNXGraphPlan(model: ONNXModelProto.decode(Data(bytes))))
    }

    @Test(arguments: [true, false])
    func exportedAttentionRunsAsOneKernelStep(zeroingNaN: Bool) throws {
        let module = try Self.attentionModel(zeroingNaN: zeroingNaN)
        let plan = module.plan
        let attention = try #require(plan.fusions.values.first { $0.attention != nil })
        #expect(attention.chain.map { plan.steps[$0].node.operatorType }
                == ["Mul", "Mul", "MatMul", "Add", "Softmax"] + (zeroingNaN ? ["IsNaN", "Where"] : []) + ["MatMul"])
        #expect(abs(attention.attention!.scale - 0.35) < 1e-7)

        // A padding mask with −inf, one query of batch item 1 fully masked.
        var mask = [Float](repeating: 0, count: 30)
        for i in [3, 4, 9, 27, 28] { mask[i] = -.infinity }
        for i in 15..<20 { mask[i] = -.infinity }
        let inputs = ["q": randomTensor([2, 2, 3, 4], seed: 1), "kt": randomTensor([2, 2, 4, 5], seed: 2),
                      "v": randomTensor([2, 2, 5, 4], seed: 3), "mask": Tensor(shape: [2, 1, 3, 5], scalars: mask)]
        let (fused, values) = try GradMode.withDisabled { (try module(inputs: inputs), try module.allValues(inputs: inputs)) }
        let unfused = try #require(values["y"])
        let (f, u) = (fused.toArray(), unfused.toArray())
        // Batch 1, query 0 (both heads): zeros when the export zeroes NaN rows, NaN (the Softmax spec) otherwise.
        let masked = [24, 25, 26, 27, 36, 37, 38, 39]
        #expect(masked.allSatisfy { zeroingNaN ? f[$0] == 0 : f[$0].isNaN }, "\(f)")
        #expect(zip(f, u).allSatisfy { $0.isNaN == $1.isNaN })
        #expect(zip(f, u).allSatisfy { $0.isNaN || abs($0 - $1) <= 1e-5 }, "\(String(describing: difference(fused, unfused)))")

        // Capturing the probabilities turns the fusion off for that call: the hook sees them, the output is the same.
        let (hooked, probabilities) = try Self.runHooking("Softmax", of: module, inputs: inputs)
        let rows = try #require(probabilities).toArray()
        #expect(probabilities?.shape == [2, 2, 3, 5])
        #expect(abs(rows[0..<5].reduce(0, +) - 1) < 1e-6 && rows[30..<35].allSatisfy(\.isNaN))
        #expect(zip(hooked.toArray(), u).allSatisfy { $0.isNaN ? $1.isNaN : abs($0 - $1) <= 1e-5 })
    }

    /// A mask the kernel cannot take (rank 5: the Add broadcasts the scores up) runs the steps one by one.
    @Test func attentionOutsideTheKernelsLayoutsRunsStepByStep() throws {
        let module = try Self.attentionModel(zeroingNaN: true, maskDims: [1, 2, 1, 3, 5])
        let inputs = ["q": randomTensor([2, 2, 3, 4], seed: 1), "kt": randomTensor([2, 2, 4, 5], seed: 2),
                      "v": randomTensor([2, 2, 5, 4], seed: 3), "mask": randomTensor([1, 2, 1, 3, 5], seed: 4)]
        let (fused, values) = try GradMode.withDisabled { (try module(inputs: inputs), try module.allValues(inputs: inputs)) }
        #expect(fused.shape == [1, 2, 2, 3, 4])
        #expect(isClose(fused, try #require(values["y"]), tolerance: 1e-6))
        #expect(module.plan.fusions.values.contains { $0.attention != nil })
    }

    /// The BERT and DINOv2 exports: one attention fusion per layer (BERT's with its padding mask).
    @Test(arguments: [("tiny_bert", true), ("tiny_dinov2", false)])
    func transformerExportsFuseEveryAttention(model: String, masked: Bool) throws {
        let plan = try Self.plan(model)
        let attentions = plan.fusions.values.compactMap(\.attention)
        #expect(attentions.count == plan.steps.filter { $0.node.operatorType == "Softmax" }.count && !attentions.isEmpty)
        #expect(attentions.allSatisfy { ($0.mask != nil) == masked })
    }

    /// Runs `module` with a forward hook on the module of its first `operatorType` node: the output,
    /// and what the hook saw (the hook is removed afterwards).
    static func runHooking(_ operatorType: String, occurrence: Int = 0, of module: ONNXGraphModule,
                           inputs: [String: Tensor]) throws -> (Tensor, Tensor?) {
        let step = try #require(module.plan.steps.filter { $0.node.operatorType == operatorType }.dropFirst(occurrence).first)
        let hooked = try #require(module.namedModules().first { $0.name == step.modulePath }?.module)
        nonisolated(unsafe) var observed: Tensor?
        let handle = hooked.registerForwardHook { _, _, output in observed = output; return nil }
        defer { handle.remove() }
        let output = try GradMode.withDisabled { try module(inputs: inputs) }
        return (output, observed)
    }

    @Test func repeatedCallsOfOneScopeAreOneModule() throws {
        // The dynamo exporter gives both calls of a shared ReLU the scope `relu`: one module, two calls.
        var first = ONNXNode(name: "a", operatorType: "Relu", domain: "", inputs: ["x"], outputs: ["y"], attributes: [:],
                             nameScopes: ["", "relu", "relu"])
        var second = first
        second.name = "b"
        second.inputs = ["x"]
        second.outputs = ["z"]
        second.nameScopes = ["", "relu", "relu_1"]
        first.name = "a"
        let paths = ONNXGraphPlan.modulePaths(nodes: [first, second], order: [0, 1], inputIds: [[0], [0]], outputIds: [[1], [2]])
        #expect(paths == ["relu", "relu"])
    }

    @Test func catalogListsModulesWhereTheyStart() throws {
        let module = ONNXGraphModule(plan: try Self.plan("tiny_resnet"))
        let catalog = try GradMode.withDisabled {
            try module.traceLayers { try module(inputs: ["input": Tensor(zeros: [1, 3, 16, 16])]) }
        }
        let ordered = module.executionOrdered(catalog)
        let names = ordered.layers.map(\.name)
        #expect(names.firstIndex(of: "layer1")! < names.firstIndex(of: "layer1.0")!)
        #expect(names.firstIndex(of: "layer1.0")! < names.firstIndex(of: "layer1.0.conv1")!)
        #expect(ordered.layer(named: "layer2")?.outputShape == [1, 16, 4, 4])
        #expect(ordered.layer(named: "fc")?.outputShape == [1, 10])
        #expect(module.hookCount == 0)
    }
}
