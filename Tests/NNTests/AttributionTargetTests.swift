import Foundation
import NN
import Testing

// The JSON forms of attribution targets and methods (what the HTTP endpoint decodes).

@Suite struct AttributionTargetTests {
    @Test(arguments: [
        (#"{"class": 3}"#, AttributionTarget.classIndex(3)),
        (#"{"output_index": [0, 5]}"#, .outputIndex([0, 5])),
        (#"{"layer": "layer4", "reduce": "l2"}"#, .layerNorm(layer: "layer4")),
        (#"{"layer": "encoder.layers.encoder_layer_1"}"#, .layerNorm(layer: "encoder.layers.encoder_layer_1")),
    ])
    func decodesEveryForm(_ json: String, _ expected: AttributionTarget) throws {
        let decoded = try JSONDecoder().decode(AttributionTarget.self, from: Data(json.utf8))
        #expect(decoded == expected)
        let roundTrip = try JSONDecoder().decode(AttributionTarget.self, from: JSONEncoder().encode(decoded))
        #expect(roundTrip == expected)
    }

    @Test(arguments: [#"{}"#, #"{"class": 1, "layer": "fc"}"#, #"{"layer": "fc", "reduce": "max"}"#, #"{"class": "one"}"#])
    func rejectsAmbiguousOrUnsupportedTargets(_ json: String) {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AttributionTarget.self, from: Data(json.utf8)) }
    }

    @Test func methodsUseTheirWireNames() throws {
        #expect(try JSONDecoder().decode([AttributionMethod].self, from: Data(#"["saliency", "gradcam"]"#.utf8)) == [.saliency, .gradcam])
        #expect(Attribution.inputGradientKey(input: "input", only: true) == "input_grad")
        #expect(Attribution.inputGradientKey(input: "pixels", only: false) == "input_grad:pixels")
        #expect(Attribution.gradientKey(layer: "layer3") == "grad:layer3")
        #expect(Attribution.gradCAMKey(layer: "layer4") == "gradcam:layer4")
    }
}
