import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

/// The real sentence-transformers all-MiniLM-L6-v2 against `Tests/Fixtures/minilm` (computed by
/// transformers + sentence-transformers). The weights are not in the repository: `scripts/fetch-minilm`
/// (run by `scripts/bootstrap`) puts them in `.cache/minilm/`.
@Suite struct MiniLMTests {
    static let directory: URL = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".cache/minilm", isDirectory: true)

    static func model() throws -> LoadedModel {
        let weights = directory.appendingPathComponent("model.safetensors")
        try #require(FileManager.default.fileExists(atPath: weights.path),
                     "all-MiniLM-L6-v2 is missing from \(directory.path): run scripts/fetch-minilm (scripts/bootstrap does)")
        return try loaded.get()
    }

    private static let loaded = Loaded { try LoadedModel.load(huggingFaceDirectory: directory) }

    static var texts: [String] {
        get throws {
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("minilm/inputs.json"))) as! [String: Any]
            return object["texts"] as! [String]
        }
    }

    @Test func tokenIdsEqualHuggingFace() throws {
        let model = try Self.model()
        let expected = try ArchitectureFixtures.expected("minilm")
        let inputs = try model.tokenize(Self.texts, maxLength: 128)
        #expect(inputs["input_ids"]!.shape == (try expected.tensor(named: "input_ids")).shape)
        #expect(inputs["input_ids"]!.toInt64Array() == (try expected.tensor(named: "input_ids")).toInt64Array())
        #expect(inputs["attention_mask"]!.toInt64Array() == (try expected.tensor(named: "attention_mask")).toInt64Array())
        // The checkpoint's legacy buffer is set aside, not loaded.
        #expect(model.ignoredWeightKeys == ["embeddings.position_ids"])
        #expect(model.parameterCount == 22_713_216)
    }

    @Test func layersAndSentenceEmbeddingsMatch() throws {
        let model = try Self.model()
        let replica = try model.makeReplica()
        let expected = try ArchitectureFixtures.expected("minilm")
        let inputs = try model.tokenize(Self.texts, maxLength: 128)
        let layers = ["embeddings", "encoder.layer.0", "encoder.layer.3.attention.output", "encoder.layer.5.output.LayerNorm",
                      "pooler", "last_hidden_state"]
        let features = try replica.extractFeatures(layers: layers.map { .name($0) }, inputs: inputs)
        let worst = try ArchitectureFixtures.expectParity(features, expected, names: layers)
        let hidden = try #require(features["last_hidden_state"])
        let absolute = try #require(difference(hidden, try expected.tensor(named: "last_hidden_state")))
        #expect(absolute.maxAbsoluteError <= 1e-4, "last_hidden_state: \(absolute)")

        // sentence-transformers: attention-mask mean pooling, then L2 normalization.
        let embeddings = try SentencePooling.mean.pool(hidden, attentionMask: inputs["attention_mask"]!, normalize: true)
        let reference = try expected.tensor(named: "sentence_embedding")
        let ours = embeddings.toArray(), theirs = reference.toArray(), width = reference.shape[1]
        var lowest = 1.0
        for row in 0..<reference.shape[0] {
            var dot = 0.0, a = 0.0, b = 0.0
            for column in 0..<width {
                let x = Double(ours[row * width + column]), y = Double(theirs[row * width + column])
                dot += x * y
                a += x * x
                b += y * y
            }
            lowest = min(lowest, dot / (a.squareRoot() * b.squareRoot()))
        }
        #expect(lowest >= 0.99999)
        print("all-MiniLM-L6-v2: max scaled error \(worst), last_hidden_state max |Δ| \(absolute.maxAbsoluteError), lowest cosine \(lowest)")
    }

    /// The unhooked fast path (packed q|k|v, fused residual GEMMs) gives the same hidden states.
    @Test func fastPathMatches() throws {
        let model = try Self.model()
        let output = try model.makeReplica().forward(inputs: try model.tokenize(Self.texts, maxLength: 128))
        let measured = try #require(difference(output, try ArchitectureFixtures.expected("minilm").tensor(named: "last_hidden_state")))
        #expect(measured.maxAbsoluteError <= 1e-4, "\(measured)")
    }
}
