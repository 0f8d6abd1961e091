import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

@Suite struct ResNetTests {
    static let presets = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2"]

    /// The fixture model: torchvision's ResNet(BasicBlock, [1, 1, 1, 1]) with float16 weights.
    static func fixtureModel() throws -> LoadedModel { try fixture.get() }

    private static let fixture = Loaded {
        try LoadedModel.load(architecture: nil, configuration: Data(contentsOf: Fixtures.url("resnet_basic_1111/config.json")),
                             weights: Fixtures.url("resnet_basic_1111/model.safetensors"))
    }

    /// The fixture model's traced layers (one forward pass, shared by the tests).
    static let catalog = Loaded { try fixtureModel().makeReplica().traceLayers(inputs: ["input": fixtureInput()]) }

    static func fixtureInput() throws -> Tensor {
        try SafetensorsFile(contentsOf: Fixtures.url("resnet_basic_1111/input.safetensors")).tensor(named: "input")
    }

    // MARK: - Structure

    @Test(arguments: presets)
    func presetStateDictMatchesTorchvision(_ name: String) throws {
        let module = try ArchitectureFixtures.module(ArchitectureRegistry.architecture(named: name, configuration: nil))
        ArchitectureFixtures.expectStateDict(of: module, matches: name)
    }

    @Test(arguments: ["resnet18", "resnet50", "resnet_basic_1111"])
    func printedTreeMatchesTorchvision(_ name: String) throws {
        let architecture: Architecture = name == "resnet_basic_1111"
            ? .resnet(.init(block: .basic, layers: [1, 1, 1, 1])) : try ArchitectureRegistry.architecture(named: name, configuration: nil)
        let module = try ArchitectureFixtures.module(architecture)
        #expect(module.description == ArchitectureFixtures.references[name]?.repr)
        ArchitectureFixtures.expectStateDict(of: module, matches: name)
    }

    @Test func bottleneckWithTenClassesMatchesTorchvision() throws {
        let configuration = #"{"block": "bottleneck", "layers": [1, 1, 1, 1], "num_classes": 10}"#
        let module = try ArchitectureFixtures.module(ArchitectureRegistry.architecture(named: "resnet", configuration: Data(configuration.utf8)))
        ArchitectureFixtures.expectStateDict(of: module, matches: "resnet_bottleneck_1111_classes10")
    }

    @Test func blockReLUsGetFXNamesPerCall() throws {
        let model = try LoadedModel.load(architecture: "resnet", configuration: Data(#"{"block": "bottleneck", "layers": [1, 1, 1, 1], "num_classes": 4}"#.utf8))
        let catalog = try model.makeReplica().traceLayers(inputs: ["input": Tensor(zeros: [1, 3, 32, 32])])
        let block = catalog.layers.filter { $0.modulePath == "layer1.0.relu" }
        #expect(block.map(\.name) == ["layer1.0.relu", "layer1.0.relu_1", "layer1.0.relu_2"])
        #expect(block.allSatisfy { $0.callCount == 3 })
        // torchvision: a downsample in every stage of a bottleneck ResNet (the width changes), none
        // in a basic ResNet's first stage.
        #expect(catalog.modulePaths.contains("layer1.0.downsample.0"))
        let basic = try ArchitectureFixtures.module(.resnet(.resnet18)).namedModules().map(\.name)
        #expect(!basic.contains("layer1.0.downsample"))
        #expect(basic.contains("layer2.0.downsample"))
    }

    @Test func zeroInitResidualZeroesTheLastNormOfEachBlock() throws {
        // (Constant initializers still run when random ones are skipped.)
        var configuration = ResNet.Configuration.resnet18
        configuration.zeroInitResidual = true
        let basic = try ArchitectureFixtures.module(.resnet(configuration)).stateDict()
        #expect(basic["layer3.1.bn2.weight"]!.toArray().allSatisfy { $0 == 0 })
        #expect(basic["layer3.1.bn1.weight"]!.toArray().allSatisfy { $0 == 1 })
        let bottleneck = try ArchitectureFixtures.module(.resnet(.init(block: .bottleneck, layers: [1, 1, 1, 1], zeroInitResidual: true))).stateDict()
        #expect(bottleneck["layer1.0.bn3.weight"]!.toArray().allSatisfy { $0 == 0 })
        #expect(bottleneck["layer1.0.bn2.weight"]!.toArray().allSatisfy { $0 == 1 })
    }

    /// torchvision's init: Kaiming-normal (fan_out) convolutions — std √(2 / (O·R·S)).
    @Test func convolutionsAreKaimingNormalFanOut() throws {
        let model = try LoadedModel.load(architecture: "resnet", configuration: Data(#"{"block": "basic", "layers": [1, 1, 1, 1]}"#.utf8), seed: 3)
        let values = model.weights["layer4.0.conv2.weight"]!.toArray()
        let variance = values.reduce(0) { $0 + Double($1 * $1) } / Double(values.count)
        let expected = 2.0 / Double(512 * 3 * 3)
        #expect(abs(variance / expected - 1) < 0.02)
        #expect(model.weights["conv1.weight"] != nil)
    }

    // MARK: - Parity with PyTorch

    /// Every layer of the fixture in one forward pass: FX-style names, float16 weights.
    @Test func everyLayerMatchesPyTorch() throws {
        let model = try Self.fixtureModel()
        let replica = try model.makeReplica()
        let expected = try ArchitectureFixtures.expected("resnet_basic_1111")
        let features = try replica.extractFeatures(layers: expected.names.map { .name($0) }, inputs: ["input": Self.fixtureInput()])
        #expect(Set(features.names) == Set(expected.names))
        let worst = try ArchitectureFixtures.expectParity(features, expected, names: expected.names)
        print("resnet_basic_1111: max scaled error \(worst) over \(expected.names.count) layers")
        #expect(replica.module.hookCount == 0)
    }

    /// The fused paths (BN folded into the convolution, ReLU in the epilogue, in-place residual)
    /// give PyTorch's numbers, and a capture of one inner layer sees its true, un-fused output.
    @Test(arguments: ["layer1.0.bn1", "layer2.0.relu_1", "layer2.0.downsample.1"])
    func singleCaptureSeesTheUnfusedLayer(_ layer: String) throws {
        let replica = try Self.fixtureModel().makeReplica()
        let expected = try ArchitectureFixtures.expected("resnet_basic_1111")
        let input = try Self.fixtureInput()
        let features = try replica.extractFeatures(layers: [.name(layer), "output"], inputs: ["input": input], catalog: Self.catalog.get())
        try ArchitectureFixtures.expectParity(features, expected, names: [layer, "output"])
    }

    @Test func fusedAndHookedForwardsAgree() throws {
        let replica = try Self.fixtureModel().makeReplica()
        let input = try Self.fixtureInput()
        let fused = try replica.forward(inputs: ["input": input])
        // A hook on every module forces every module call (no fusion at all).
        var handles: [HookHandle] = []
        for (_, module) in replica.module.namedModules() {
            handles.append(module.registerForwardHook { _, _, _ in nil })
        }
        let unfused = try replica.forward(inputs: ["input": input])
        for handle in handles { handle.remove() }
        let measured = try #require(difference(fused, unfused))
        #expect(measured.scaledError <= 1e-5, "\(measured)")
        #expect(replica.module.hookCount == 0)
        // Back to the fused path: identical to the first run.
        #expect(try replica.forward(inputs: ["input": input]).toArray() == fused.toArray())
    }

    @Test func rejectsInputsThatAreNotImageBatches() throws {
        let replica = try LoadedModel.load(architecture: "resnet", configuration: Data(#"{"block": "basic", "layers": [1, 1, 1, 1]}"#.utf8))
            .makeReplica()
        #expect(throws: ModelError.invalidInput(name: "input", reason: "expected shape [batch, 3, any(224), any(224)], got [1, 4, 32, 32]")) {
            try replica.forward(inputs: ["input": Tensor(zeros: [1, 4, 32, 32])])
        }
        #expect(throws: ModelError.missingInput("input", expected: "float32 [batch, 3, any(224), any(224)]")) {
            try replica.forward(inputs: [:])
        }
        #expect(throws: ModelError.unexpectedInput("pixels", known: ["input"])) {
            try replica.forward(inputs: ["input": Tensor(zeros: [1, 3, 32, 32]), "pixels": Tensor(zeros: [1])])
        }
    }
}
