import Testing
import NN
@testable import Service

/// `AttributionsRequest`: the body of `POST /v1/models/{name}/attributions` as openapi.yaml's
/// `AttributionRequest` describes it, and every violation a 400 naming the field.
@Suite struct AttributionsRequestTests {
    private func parse(_ text: String) throws(RequestError) -> AttributionsRequest {
        try AttributionsRequest.parse(Array(text.utf8))
    }

    @Test(arguments: [
        (#"{"class": 3}"#, AttributionTarget.classIndex(3)),
        (#"{"output_index": [1, 0, 7]}"#, .outputIndex([1, 0, 7])),
        (#"{"layer": "layer4", "reduce": "l2"}"#, .layerNorm(layer: "layer4")),
    ])
    func targets(_ json: String, _ target: AttributionTarget) throws {
        let request = try parse(#"{"text": ["a", "b"], "target": \#(json), "method": "saliency"}"#)
        #expect(request.attribution == Attribution(target: target, method: .saliency, layers: []))
        #expect(request.dtype == .float32 && request.encoding == .json)
        guard case .text(let texts) = request.input else { Issue.record("not text"); return }
        #expect(texts == ["a", "b"])
    }

    @Test func everyOption() throws {
        let request = try parse("""
        {"inputs": {"input": {"shape": [1, 2], "data": [0.5, -1]}}, "target": {"class": 0}, "method": "gradcam",
         "layers": ["layer3", "layer4.*.relu"], "dtype": "float16", "encoding": "base64"}
        """)
        #expect(request.attribution == Attribution(target: .classIndex(0), method: .gradcam, layers: ["layer3", "layer4.*.relu"]))
        #expect(request.dtype == .float16 && request.encoding == .base64)
        guard case .tensors(let tensors) = request.input else { Issue.record("not tensors"); return }
        #expect(tensors.map(\.name) == ["input"] && tensors[0].shape == [1, 2])
    }

    @Test func inputAttributionOptions() throws {
        let integrated = try parse(#"{"image": "aGk=", "target": {"class": 2}, "method": "integrated_gradients", "steps": 32, "integration": "riemann_trapezoid", "baseline": -0.5}"#)
        #expect(integrated.attribution.inputAttribution == InputAttributionOptions(steps: 32, rule: .riemannTrapezoid, baseline: -0.5))
        let smooth = try parse(#"{"image": "aGk=", "target": {"class": 2}, "method": "smoothgrad", "samples": 8, "noise_stddev": 0.2, "seed": 11}"#)
        #expect(smooth.attribution.inputAttribution == InputAttributionOptions(samples: 8, noiseStandardDeviation: 0.2, seed: 11))
        let token = try parse(#"{"text": "hi", "target": {"class": 2}, "method": "integrated_gradients", "baseline_token": 100}"#)
        #expect(token.attribution.inputAttribution == InputAttributionOptions(tokenBaseline: .token(100)))
        let zero = try parse(#"{"text": "hi", "target": {"class": 2}, "method": "integrated_gradients", "baseline_token": "zero"}"#)
        #expect(zero.attribution.inputAttribution == InputAttributionOptions(tokenBaseline: .zeroEmbedding))
        let plain = try parse(#"{"image": "aGk=", "target": {"class": 2}, "method": "input_x_gradient"}"#)
        #expect(plain.attribution.method == .inputXGradient && plain.attribution.inputAttribution == InputAttributionOptions())
    }

    /// attention_rollout: no target, no layers; head fusion and discard ratio.
    @Test func attentionRolloutOptions() throws {
        let plain = try parse(#"{"text": "hello", "method": "attention_rollout"}"#)
        #expect(plain.attribution == .attentionRollout())
        #expect(plain.attribution.target == nil && plain.attribution.rollout == AttentionRolloutOptions(headFusion: .mean, discardRatio: 0))
        let tuned = try parse(#"{"image": "aGk=", "method": "attention_rollout", "head_fusion": "max", "discard_ratio": 0.9, "layers": []}"#)
        #expect(tuned.attribution == .attentionRollout(AttentionRolloutOptions(headFusion: .max, discardRatio: 0.9)))
    }

    @Test(arguments: [
        (#"{"text": "hello", "method": "attention_rollout", "target": {"class": 1}}"#, "target", "attention_rollout takes no target"),
        (#"{"text": "hello", "method": "attention_rollout", "layers": ["encoder.layer.0"]}"#, "layers", "takes no layers"),
        (#"{"text": "hello", "method": "attention_rollout", "head_fusion": "median"}"#, "head_fusion", "'median' is not one of: mean, max, min"),
        (#"{"text": "hello", "method": "attention_rollout", "discard_ratio": 1}"#, "discard_ratio", "up to (not including) 1, found 1"),
        (#"{"text": "hello", "method": "attention_rollout", "discard_ratio": -0.1}"#, "discard_ratio", "found -0.1"),
        (#"{"text": "hello", "method": "attention_rollout", "discard_ratio": "half"}"#, "discard_ratio", "found a string"),
        (#"{"text": "hello", "method": "attention_rollout", "steps": 4}"#, "steps", "only used by method integrated_gradients"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "gradcam", "layers": ["x"], "head_fusion": "max"}"#, "head_fusion",
         "only used by method attention_rollout, not gradcam"),
        (#"{"text": "hello", "method": "saliency"}"#, "target", "is required"),
        (#"{"text": "hello", "target": {"class": 1}}"#, "method", "is required"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "occlusion"}"#, "method", "saliency, gradcam, gradcam_plus_plus, layercam, input_x_gradient, integrated_gradients, smoothgrad, attention_rollout"),
        (#"{"target": {"class": 1}, "method": "saliency"}"#, "$", "\"inputs\""),
        (#"{"text": "hello", "image": "aGk=", "target": {"class": 1}, "method": "saliency"}"#, "$", "only one"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "saliency", "pool": "mean"}"#, "pool", "unknown field"),
        (#"{"text": "hello", "target": 3, "method": "saliency"}"#, "target", "expected an object"),
        (#"{"text": "hello", "target": {}, "method": "saliency"}"#, "target", "needs one of"),
        (#"{"text": "hello", "target": {"class": 1, "output_index": [0]}, "method": "saliency"}"#, "target", "give only one"),
        (#"{"text": "hello", "target": {"class": -1}, "method": "saliency"}"#, "target.class", "non-negative integer, found -1"),
        (#"{"text": "hello", "target": {"class": 1.5}, "method": "saliency"}"#, "target.class", "found 1.5"),
        (#"{"text": "hello", "target": {"class": "3"}, "method": "saliency"}"#, "target.class", "found a string"),
        (#"{"text": "hello", "target": {"class": 1, "reduce": "l2"}, "method": "saliency"}"#, "target.reduce", "unknown field"),
        (#"{"text": "hello", "target": {"output_index": []}, "method": "saliency"}"#, "target.output_index", "non-empty array"),
        (#"{"text": "hello", "target": {"output_index": 4}, "method": "saliency"}"#, "target.output_index", "non-empty array"),
        (#"{"text": "hello", "target": {"output_index": [0, -2]}, "method": "saliency"}"#, "target.output_index[1]", "found -2"),
        (#"{"text": "hello", "target": {"layer": "fc"}, "method": "saliency"}"#, "target.reduce", "is required"),
        (#"{"text": "hello", "target": {"layer": "fc", "reduce": "l1"}, "method": "saliency"}"#, "target.reduce", "'l1' is not one of: l2"),
        (#"{"text": "hello", "target": {"layer": "", "reduce": "l2"}, "method": "saliency"}"#, "target.layer", "empty string"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "gradcam"}"#, "layers", "gradcam needs at least one"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "gradcam", "layers": []}"#, "layers", "gradcam needs at least one"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "saliency", "layers": "fc"}"#, "layers", "expected an array"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "saliency", "layers": ["fc", -1]}"#, "layers[1]", "expected a layer name"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "saliency", "layers": [""]}"#, "layers[0]", "empty string"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "saliency", "dtype": "int8"}"#, "dtype", "float32"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "saliency", "encoding": "hex"}"#, "encoding", "base64"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "integrated_gradients", "layers": ["fc"]}"#, "layers", "takes no layers"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "saliency", "steps": 20}"#, "steps", "only used by method integrated_gradients"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "integrated_gradients", "samples": 4}"#, "samples", "only used by method smoothgrad"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "integrated_gradients", "steps": 0}"#, "steps", "from 1 to 1024"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "integrated_gradients", "steps": 1, "integration": "riemann_left"}"#, "steps", "from 2 to 1024"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "integrated_gradients", "integration": "simpson"}"#, "integration", "gausslegendre"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "integrated_gradients", "baseline": "zero"}"#, "baseline", "finite number"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "integrated_gradients", "baseline_token": -1}"#, "baseline_token", "token id"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "integrated_gradients", "baseline_token": "pad"}"#, "baseline_token", "token id"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "smoothgrad", "baseline_token": 0}"#, "baseline_token", "only used by method integrated_gradients"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "smoothgrad", "samples": 5000}"#, "samples", "from 1 to 1024"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "smoothgrad", "noise_stddev": -0.1}"#, "noise_stddev", "non-negative"),
        (#"{"text": "hello", "target": {"class": 1}, "method": "smoothgrad", "seed": -3}"#, "seed", "non-negative integer"),
    ])
    func invalidBodiesNameTheField(_ json: String, _ field: String, _ problem: String) {
        do {
            _ = try parse(json)
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.field == field && error.problem.contains(problem) && error.status == .badRequest, "\(json): \(error)")
        }
    }
}
