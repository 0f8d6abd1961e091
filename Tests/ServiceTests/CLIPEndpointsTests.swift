import Foundation
import Models
import NN
import Tensors
import Testing
import TestSupport
@testable import Service

/// A CLIP over every front door: texts and images on the native API, token ids on V2, texts and
/// image data URIs on `/v1/embeddings`, `/tokenize`; each answer equals the model run in-process.
@Suite struct CLIPEndpointsTests {
    static let model = Loaded {
        var model = try LoadedModel.load(architecture: "clip", configuration: Data(LiveService.clipConfiguration.utf8), seed: 11)
        model.tokenizer = try CLIPTokenizer(directory: Fixtures.url("clip_tokenizer"))
        model.imagePreprocessing = try ImagePreprocessing(configuration: JSONDecoder().decode(ImagePreprocessing.Configuration.self,
                                                                                              from: Data(LiveService.clipPreprocessor.utf8)))
        return model
    }

    /// The in-process result of `layers` for `inputs`.
    static func local(_ layers: [String], _ inputs: [String: Tensor]) throws -> [String: [Float]] {
        let replica = try model.get().makeReplica()
        let features = try replica.extractFeatures(layers: layers.map { .name($0) }, inputs: inputs, catalog: try replica.traceLayers())
        return Dictionary(uniqueKeysWithValues: layers.map { ($0, features[$0]!.toArray()) })
    }

    static func close(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }
    }

    @Test func textsAndImagesOverEveryAPI() async throws {
        let service = try await LiveService.start([.clip("clip")])
        do {
            let model = try Self.model.get()
            let texts = ["a photo of a cat", "Two DOGS, playing!"]
            let tokens = try model.tokenize(texts)
            #expect(Set(tokens.keys) == ["input_ids", "attention_mask"])

            // The listing has both towers' layers.
            let layers = try await service.get("/v1/models/clip/layers")
            #expect(layers.status == 200 && layers.text.contains("\"vision_model.encoder.layers.1.mlp\"")
                    && layers.text.contains("\"text_model.encoder.layers.1.mlp\"") && layers.text.contains("\"visual_projection\""), "\(layers.text.prefix(300))")

            // Native features, text: the text tower's layers and the projection.
            let textReply = try await service.post("/v1/models/clip/features",
                                                   json: FeatureRequests.textBody(texts, layers: ["text_embeds", "text_model.encoder.layers.1"]))
            #expect(textReply.status == 200, "\(textReply.text.prefix(300))")
            let textFeatures = try FeatureRequests.features(textReply)
            let expectedText = try Self.local(["text_embeds", "text_model.encoder.layers.1"], tokens)
            #expect(textFeatures["text_embeds"]?.shape == [2, 16])
            for name in expectedText.keys { #expect(Self.close(textFeatures[name]!.values, expectedText[name]!), "\(name)") }

            // Native features, image: the vision tower's layers and the projection, preprocessed per the
            // preprocessor_config.json next to the weights.
            let pngData = try Data(contentsOf: Fixtures.url("images/rgb8_37x23.png"))
            let png = pngData.base64EncodedString()
            let imageReply = try await service.post("/v1/models/clip/features",
                                                    json: #"{"image":"\#(png)","layers":["image_embeds","vision_model.post_layernorm"]}"#)
            #expect(imageReply.status == 200, "\(imageReply.text.prefix(300))")
            let imageFeatures = try FeatureRequests.features(imageReply)
            let pixels = try model.imagePreprocessing!(imageData: [UInt8](pngData))
            #expect(model.imagePreprocessing?.configuration.resize == .shorterSide(36))
            let expectedImage = try Self.local(["image_embeds", "vision_model.post_layernorm"], ["pixel_values": pixels])
            for name in expectedImage.keys { #expect(Self.close(imageFeatures[name]!.values, expectedImage[name]!), "\(name)") }

            // A layer of the other tower is not computed for this input.
            let wrongTower = try await service.post("/v1/models/clip/features", json: #"{"image":"\#(png)","layers":["text_embeds"]}"#)
            #expect(wrongTower.status >= 400 && wrongTower.text.contains("text_projection"), "\(wrongTower.text.prefix(300))")

            // V2: token ids as tensors, the output is the text embedding.
            let ids = tokens["input_ids"]!, mask = tokens["attention_mask"]!
            func v2Tensor(_ name: String, _ tensor: Tensor) -> String {
                #"{"name":"\#(name)","shape":[\#(tensor.shape.map(String.init).joined(separator: ","))],"datatype":"INT64","data":[\#(tensor.toInt64Array().map(String.init).joined(separator: ","))]}"#
            }
            let v2 = try await service.post("/v2/models/clip/infer",
                                            json: #"{"inputs":[\#(v2Tensor("input_ids", ids)),\#(v2Tensor("attention_mask", mask))],"outputs":[{"name":"text_embeds"}]}"#)
            #expect(v2.status == 200, "\(v2.text.prefix(300))")
            let output = try #require(try v2.json().objectValue?["outputs"]?.arrayElements?.first?.objectValue)
            #expect(Self.close(try #require(output["data"]?.numericArray).floats(), expectedText["text_embeds"]!))
            let neither = try await service.post("/v2/models/clip/infer", json: #"{"inputs":[\#(v2Tensor("attention_mask", mask))]}"#)
            #expect(neither.status == 400 && neither.text.contains("pixel_values"), "\(neither.text.prefix(300))")

            // /v1/embeddings: texts → text_embeds, image data URIs → image_embeds (normalized by default).
            let embedded = try await service.post("/v1/embeddings", json: #"{"model":"clip","input":["a photo of a cat","Two DOGS, playing!"],"normalize":false}"#)
            #expect(embedded.status == 200, "\(embedded.text.prefix(300))")
            let vectors = try EmbeddingEndpointsTests.vectors(embedded)
            #expect(Self.close(vectors.flatMap { $0 }, expectedText["text_embeds"]!))
            let image = try await service.post("/v1/embeddings", json: #"{"model":"clip","input":["data:image/png;base64,\#(png)"],"normalize":false}"#)
            #expect(image.status == 200, "\(image.text.prefix(300))")
            #expect(Self.close(try EmbeddingEndpointsTests.vectors(image)[0], expectedImage["image_embeds"]!))
            let mixed = try await service.post("/v1/embeddings", json: #"{"model":"clip","input":["a cat","data:image/png;base64,\#(png)"]}"#)
            #expect(mixed.status == 400 && mixed.text.contains("one kind per request"), "\(mixed.text.prefix(300))")

            // /tokenize: the BPE ids, tokens and offsets.
            let tokenized = try await service.post("/v1/models/clip/tokenize", json: #"{"text":"a photo of a cat"}"#)
            #expect(tokenized.status == 200, "\(tokenized.text.prefix(300))")
            #expect(tokenized.text.contains("photo</w>") && tokenized.text.contains("<|startoftext|>"), "\(tokenized.text.prefix(300))")

            // Attributions: Grad-CAM on a vision block's patch tokens; saliency on the text tower's token embeddings.
            let cam = try await service.post("/v1/models/clip/attributions", json: #"{"image":"\#(png)","target":{"class":3},"method":"gradcam","layers":["vision_model.encoder.layers.1.layer_norm1"]}"#)
            #expect(cam.status == 200, "\(cam.text.prefix(300))")
            #expect(try FeatureRequests.features(cam, key: "attributions")["gradcam:vision_model.encoder.layers.1.layer_norm1"]?.shape == [1, 1, 32, 32])
            let textSaliency = try await service.post("/v1/models/clip/attributions", json: #"{"text":["a photo of a cat"],"target":{"class":3},"method":"saliency"}"#)
            #expect(textSaliency.status == 200, "\(textSaliency.text.prefix(300))")
            #expect(try FeatureRequests.features(textSaliency, key: "attributions")["input_grad"]?.shape == [1, 7, 32])

            // Over-long text with truncate none is refused, naming the input.
            let long = String(repeating: "cat ", count: 100)
            let refused = try await service.post("/v1/models/clip/features", json: FeatureRequests.textBody(["ok", long], layers: ["text_embeds"], extra: #","truncate":"none""#))
            #expect(refused.status == 413 && refused.text.contains("text[1]"), "\(refused.text.prefix(300))")
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
