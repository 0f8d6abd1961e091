import Foundation
import Testing
@testable import Models

@Suite struct ArchitectureRegistryTests {
    private func architecture(_ name: String?, _ json: String?) throws -> Architecture {
        try ArchitectureRegistry.architecture(named: name, configuration: json.map { Data($0.utf8) })
    }

    @Test func namesCoverFamiliesAndPresets() {
        #expect(ArchitectureRegistry.names.prefix(4) == ["resnet", "vit", "bert", "mlp"])
        for name in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vit_b_16"] {
            #expect(ArchitectureRegistry.names.contains(name))
        }
        #expect(ArchitectureRegistry.family(of: "resnet152") == "resnet")
        #expect(ArchitectureRegistry.family(of: "vit_l_16") == "vit")
        #expect(ArchitectureRegistry.family(of: "alexnet") == nil)
    }

    @Test func presetsAndOverrides() throws {
        #expect(try architecture("resnet50", nil) == .resnet(.resnet50))
        var tenClasses = ResNet.Configuration.resnet50
        tenClasses.numClasses = 10
        #expect(try architecture("resnet50", #"{"num_classes": 10}"#) == .resnet(tenClasses))
        #expect(try architecture("vit_b_16", "  ") == .visionTransformer(.vit_b_16))
        #expect(try architecture("resnet", #"{"block": "basic", "layers": [2, 2, 2, 2]}"#) == .resnet(.resnet18))
        #expect(try architecture("bert", "{}") == .bert(BertModel.Configuration()))
    }

    /// The fixtures' configurations carry their own `architecture` key.
    @Test func configurationsNameTheirArchitecture() throws {
        let resnet = try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/resnet_basic_1111/config.json"))
        #expect(try ArchitectureRegistry.architecture(named: nil, configuration: resnet) == .resnet(.init(block: .basic, layers: [1, 1, 1, 1])))
        #expect(try ArchitectureRegistry.architecture(named: "resnet", configuration: resnet).family == "resnet")
        // A family in the file and a preset requested (or the other way round) agree.
        #expect(try architecture("resnet18", #"{"architecture": "resnet"}"#) == .resnet(.resnet18))
        #expect(try architecture("resnet", #"{"architecture": "resnet34"}"#) == .resnet(.resnet34))
        #expect(try architecture(nil, #"{"architecture": "vit_b_32"}"#) == .visionTransformer(.vit_b_32))
    }

    @Test func preprocessingIsReadForImageModels() throws {
        let resolved = try ArchitectureRegistry.resolve(named: "resnet18", configuration: Data(#"{"preprocessing": {"resize_size": 232, "crop_size": 224}}"#.utf8))
        #expect(resolved.preprocessing?.resize == .shorterSide(232))
        #expect(throws: ModelError.self) { try architecture("mlp", #"{"in_channels": 2, "hidden_channels": [1], "preprocessing": {}}"#) }
    }

    /// Every bad configuration names its field and what was expected.
    @Test(arguments: [
        ("resnet", #"{"block": "basic", "layers": [2, 2, 2]}"#, "layers: expected an array of 4 positive integers"),
        ("resnet", #"{"block": "basic", "layers": [2, 2, 0, 2]}"#, "layers: expected an array of 4 positive integers"),
        ("resnet", #"{"block": "basic", "layers": "2,2,2,2"}"#, "layers: expected an array of 4 positive integers"),
        ("resnet", #"{"layers": [2, 2, 2, 2]}"#, #"block: expected one of "basic", "bottleneck""#),
        ("resnet", #"{"block": "wide", "layers": [2, 2, 2, 2]}"#, #"block: expected one of "basic", "bottleneck""#),
        ("resnet18", #"{"num_classes": 0}"#, "num_classes: expected a positive integer"),
        ("resnet18", #"{"num_classes": "ten"}"#, "num_classes: expected a positive integer"),
        ("resnet18", #"{"groups": 32}"#, "groups: expected groups 1 and width_per_group 64 with basic blocks (torchvision's BasicBlock)"),
        ("resnet18", #"{"num_class": 10}"#,
         "num_class: not a field of the resnet configuration (fields: block, layers, num_classes, zero_init_residual, groups, width_per_group, replace_stride_with_dilation)"),
        ("vit", #"{"image_size": 224, "patch_size": 16, "num_layers": 12, "num_heads": 12, "hidden_dim": 768}"#, "mlp_dim: expected a positive integer"),
        ("vit_b_16", #"{"hidden_dim": 100}"#, "hidden_dim: expected a multiple of num_heads (12)"),
        ("vit_b_16", #"{"dropout": 1.5}"#, "dropout: expected a probability between 0 and 1"),
        ("vit_b_16", #"{"patch_size": 300}"#, "patch_size: expected at most image_size (224)"),
        ("bert", #"{"hidden_act": "mish"}"#, #"hidden_act: expected one of "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "swish", "tanh", "quick_gelu""#),
        ("bert", #"{"hidden_size": 100, "num_attention_heads": 12}"#, "hidden_size: expected a multiple of num_attention_heads (12)"),
        ("bert", #"{"model_type": "roberta"}"#, #"model_type: expected one of "bert""#),
        ("bert", #"{"is_decoder": true}"#, "is_decoder: expected false (decoder BERTs are not supported)"),
        ("mlp", #"{"in_channels": 4}"#, "hidden_channels: expected a non-empty array of positive integers"),
        ("mlp", #"{"in_channels": 4, "hidden_channels": [3], "norm": "batch_norm"}"#, #"norm: expected one of "none", "layer_norm""#),
        ("resnet", "[1, 2]", "configuration: expected a JSON object"),
        ("resnet", "{not json", "configuration: expected a JSON object"),
        ("resnet", #"{"architecture": 5}"#, "architecture: expected an architecture name (a string)"),
    ])
    func badConfigurationsNameTheField(_ name: String, _ json: String, _ message: String) {
        do {
            _ = try architecture(name, json)
            Issue.record("accepted \(json)")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func unknownAndConflictingArchitectures() {
        #expect(throws: ModelError.unknownArchitecture("alexnet", known: ArchitectureRegistry.names)) { try architecture("alexnet", nil) }
        #expect(throws: ModelError.unknownArchitecture("vgg", known: ArchitectureRegistry.names)) {
            try architecture(nil, #"{"architecture": "vgg"}"#)
        }
        #expect(throws: ModelError.conflictingArchitecture(requested: "vit", configuration: "resnet")) {
            try architecture("vit", #"{"architecture": "resnet"}"#)
        }
        #expect(throws: ModelError.conflictingArchitecture(requested: "resnet18", configuration: "resnet50")) {
            try architecture("resnet18", #"{"architecture": "resnet50"}"#)
        }
        do {
            _ = try architecture(nil, "{}")
            Issue.record("accepted a configuration without architecture")
        } catch {
            #expect("\(error)".hasPrefix("architecture: expected an architecture name (resnet, vit, bert, mlp, "))
        }
    }
}
