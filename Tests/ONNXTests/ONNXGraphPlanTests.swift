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

    /// Runs `module` with a forward hook on the module of its first `operatorType` node: the output,
    /// and what the hook saw (the hook is removed afterwards).
    static func runHooking(_ operatorType: String, of module: ONNXGraphModule, inputs: [String: Tensor]) throws -> (Tensor, Tensor?) {
        let step = try #require(module.plan.steps.first { $0.node.operatorType == operatorType })
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
