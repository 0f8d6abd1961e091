import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

// `LoadedModel.resolveAttribution` (LoadedModel+Attribution.swift): what the service checks
// before queueing — aliases rewritten, bad targets and layers rejected with the reason.

@Suite struct LoadedModelAttributionTests {
    @Test func aliasesBecomeModelLayersAndNameTheKeys() throws {
        let model = try BERTTests.fixtureModel()
        let catalog = try model.makeReplica().traceLayers()
        let resolved = try model.resolveAttribution(Attribution(target: .layerNorm(layer: "pooler_output"),
                                                                layers: ["last_hidden_state", "encoder.layer.0"]), in: catalog)
        #expect(resolved.request.layers == ["output", "encoder.layer.0"])
        #expect(resolved.request.target == .layerNorm(layer: "pooler"))
        #expect(resolved.keyAliases.map(\.alias) == ["grad:last_hidden_state"])
        #expect(resolved.keyAliases.map(\.name) == ["grad:output"])
        #expect(resolved.droppedKeys == ["grad:output"])
        // A class-activation map's keys carry its method's prefix (DINOv2's tokens lie on a patch grid).
        let dinov2 = try LoadedModel.load(huggingFaceDirectory: Fixtures.url("dinov2_tiny"))
        let cam = try dinov2.resolveAttribution(Attribution(target: .outputIndex([0, 0, 1]), method: .layerCAM, layers: ["last_hidden_state"]),
                                                in: try dinov2.makeReplica().traceLayers())
        #expect(cam.keyAliases.map(\.alias) == ["layercam:last_hidden_state"] && cam.droppedKeys == ["layercam:output"])
        #expect(model.architecture.attributionInputLayers == ["input_ids": "embeddings.word_embeddings"])
    }

    @Test func visionModelsKeepTheirRequestAsIs() throws {
        let model = try ResNetTests.fixtureModel()
        let request = Attribution(target: .classIndex(999), method: .gradcam, layers: ["layer4.*.relu*", -3])
        let resolved = try model.resolveAttribution(request, in: try ResNetTests.catalog.get())
        #expect(resolved.request == request)
        #expect(resolved.keyAliases.isEmpty && resolved.droppedKeys.isEmpty)
        #expect(model.architecture.attributionInputLayers.isEmpty)
    }

    struct Rejection: Sendable, CustomTestStringConvertible {
        let model: String
        let request: Attribution
        let error: AttributionError
        var testDescription: String { "\(model): \(error)" }
    }

    static let rejections: [Rejection] = [
        Rejection(model: "resnet", request: Attribution(target: .classIndex(1000)),
                  error: .invalidTarget(.classIndex(1000), reason: "class 1000 is out of range for the model's 1000 classes (0..<1000)")),
        Rejection(model: "resnet", request: Attribution(target: .classIndex(-1)),
                  error: .invalidTarget(.classIndex(-1), reason: "class -1 is negative")),
        Rejection(model: "resnet", request: Attribution(target: .outputIndex([0])),
                  error: .invalidTarget(.outputIndex([0]),
                                        reason: "output_index needs 2 entries for the model's output (shape [2, 1000] for the default input), got 1")),
        Rejection(model: "resnet", request: Attribution(target: .outputIndex([0, 1000])),
                  error: .invalidTarget(.outputIndex([0, 1000]), reason: "index 1000 on axis 1 is out of range (0..<1000)")),
        Rejection(model: "resnet", request: Attribution(target: .layerNorm(layer: "layer*")),
                  error: .invalidTarget(.layerNorm(layer: "layer*"), reason: "the target layer must name one layer call, not a pattern")),
        Rejection(model: "resnet", request: Attribution(target: .classIndex(0), method: .gradcam),
                  error: .noLayers),
        Rejection(model: "resnet", request: Attribution(target: .classIndex(0), method: .gradcam, layers: ["layer4", "fc"]),
                  error: .notSpatial(layer: "fc", shape: [2, 1000])),
        Rejection(model: "bert", request: Attribution(target: .classIndex(0)),
                  error: .invalidTarget(.classIndex(0), reason: "a class target needs a [N, classes] output, the model's output is "
                                        + "[1, 16, 32] (use output_index or a layer target)")),
        Rejection(model: "bert", request: Attribution(target: .outputIndex([0, 0, 32])),
                  error: .invalidTarget(.outputIndex([0, 0, 32]), reason: "index 32 on axis 2 is out of range (0..<32)")),
        Rejection(model: "bert", request: Attribution(target: .outputIndex([0, 0]), method: .gradcam, layers: ["encoder.layer.0"]),
                  error: .notSpatial(layer: "encoder.layer.0", shape: [1, 16, 32])),
    ]

    @Test(arguments: rejections)
    func badRequestsAreRejectedBeforeQueueing(_ rejection: Rejection) throws {
        let (model, catalog) = try Self.modelAndCatalog(rejection.model)
        #expect(throws: rejection.error) { _ = try model.resolveAttribution(rejection.request, in: catalog) }
    }

    @Test func unknownLayersListTheClosestNamesAliasesIncluded() throws {
        let (model, catalog) = try Self.modelAndCatalog("bert")
        do {
            _ = try model.resolveAttribution(Attribution(target: .outputIndex([0, 0, 0]), layers: ["pooler_outptu"]), in: catalog)
            Issue.record("expected an unknown layer")
        } catch CaptureError.unknownLayer(let name, let closest) {
            #expect(name == "pooler_outptu")
            #expect(closest.first == "pooler_output")
        }
        #expect(throws: CaptureError.self) {
            _ = try model.resolveAttribution(Attribution(target: .layerNorm(layer: "encoder.layer.7")), in: catalog)
        }
        // Sequence and batch axes depend on the input: checked when the model runs.
        _ = try model.resolveAttribution(Attribution(target: .outputIndex([3, 40, 5])), in: catalog)
    }

    private static func modelAndCatalog(_ name: String) throws -> (LoadedModel, LayerCatalog) {
        switch name {
        case "bert":
            let model = try BERTTests.fixtureModel()
            return (model, try model.makeReplica().traceLayers())
        default:
            return (try ResNetTests.fixtureModel(), try ResNetTests.catalog.get())
        }
    }
}
