import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

// Grad-CAM, Grad-CAM++ and LayerCAM (GradCAM.swift) on the fixture ResNet's convolutional layers and
// the fixture ViT's patch tokens, against pytorch-grad-cam 1.5.7's maps before resizing
// (Tests/Fixtures/gradients/cams.safetensors, scripts/fixtures/make_cam_fixtures.py): min-max
// normalized, at the layer's resolution, within 1e-4.

private let references = Loaded { try SafetensorsFile(contentsOf: Fixtures.url("gradients/cams.safetensors")) }

@Suite struct ClassActivationMapTests {
    private static let methods: [AttributionMethod] = [.gradcam, .gradCAMPlusPlus, .layerCAM]

    private func expectMatches(_ maps: CapturedFeatures, prefix: String, method: AttributionMethod, layer: String) throws {
        let key = Attribution.classActivationMapKey(method, layer: layer)
        let actual = try #require(maps[key], "\(key) missing from \(maps.names)")
        let gap = try #require(difference(actual, try references.get().tensor(named: "\(prefix).\(key)")))
        #expect(gap.maxAbsoluteError <= 1e-4, "\(prefix).\(key): \(gap)")
    }

    @Test(arguments: methods)
    func resnetMapsMatchPytorchGradCAM(method: AttributionMethod) async throws {
        try await onDedicatedThread {
            let replica = try ResNetTests.fixtureModel().makeReplica()
            let request = Attribution(target: .classIndex(7), method: method, layers: ["layer3", "layer4"],
                                      gradCAM: GradCAMOptions(normalization: .minMax, upsampleToInput: false))
            let maps = try replica.attribute(request, inputs: ["input": try ResNetTests.fixtureInput()])
            #expect(maps.names == ["layer3", "layer4"].map { Attribution.classActivationMapKey(method, layer: $0) })
            for layer in ["layer3", "layer4"] { try expectMatches(maps, prefix: "resnet", method: method, layer: layer) }
        }
    }

    /// A ViT block's LayerNorm output [N, 1 + 16, C] read on its 4 × 4 patch grid, the class token left out.
    @Test(arguments: methods)
    func vitTokenMapsMatchPytorchGradCAM(method: AttributionMethod) async throws {
        try await onDedicatedThread {
            let replica = try VisionTransformerTests.fixtureModel().makeReplica()
            let layer = "encoder.layers.encoder_layer_1.ln_1"
            let request = Attribution(target: .classIndex(3), method: method, layers: [.name(layer)],
                                      gradCAM: GradCAMOptions(normalization: .minMax, upsampleToInput: false))
            let maps = try replica.attribute(request, inputs: ["input": try VisionTransformerTests.fixtureInput()])
            try expectMatches(maps, prefix: "vit", method: method, layer: layer)
            // Upsampled, the map covers the image.
            let upsampled = try replica.attribute(Attribution(target: .classIndex(3), method: method, layers: [.name(layer)]),
                                                  inputs: ["input": try VisionTransformerTests.fixtureInput()])
            #expect(upsampled[Attribution.classActivationMapKey(method, layer: layer)]?.shape == [2, 1, 32, 32])
        }
    }

    /// DINOv2 with registers: the class and the register tokens are left out of the grid.
    @Test func dinov2GridLeavesOutClassAndRegisterTokens() throws {
        let model = try LoadedModel.load(huggingFaceDirectory: Fixtures.url("dinov2_registers_tiny"))
        #expect(model.architecture.tokenGrid(imageHeight: 35, imageWidth: 22) == GradCAMOptions.TokenGrid(prefixTokens: 3, height: 5, width: 3))
        let replica = try model.makeReplica()
        let input = try SafetensorsFile(contentsOf: Fixtures.url("dinov2_registers_tiny/input.safetensors")).tensor(named: "wide/input")
        let maps = try replica.attribute(Attribution(target: .outputIndex([0, 0, 1]), method: .layerCAM, layers: ["encoder.layer.1.norm1"],
                                                     gradCAM: GradCAMOptions(upsampleToInput: false)),
                                         inputs: ["input": input])
        #expect(maps["layercam:encoder.layer.1.norm1"]?.shape == [1, 1, 5, 3])
    }

    /// Token layers need a patch grid: ResNet's classifier output is not spatial.
    @Test func nonSpatialLayersAreRefused() throws {
        let model = try ResNetTests.fixtureModel()
        #expect(throws: AttributionError.notSpatial(layer: "fc", shape: [2, 1000])) {
            _ = try model.resolveAttribution(Attribution(target: .classIndex(1), method: .layerCAM, layers: ["fc"]),
                                             in: try ResNetTests.catalog.get())
        }
    }
}
