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

    @Test func tokenIdsEqualHuggingFace() async throws {
        try await onDedicatedThread {
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
    }

    @Test func layersAndSentenceEmbeddingsMatch() async throws {
        try await onDedicatedThread {
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
    }

    /// The unhooked fast path (packed q|k|v, fused residual GEMMs) gives the same hidden states.
    @Test func fastPathMatches() async throws {
        try await onDedicatedThread {
            let model = try Self.model()
            let output = try model.makeReplica().forward(inputs: try model.tokenize(Self.texts, maxLength: 128))
            let measured = try #require(difference(output, try ArchitectureFixtures.expected("minilm").tensor(named: "last_hidden_state")))
            #expect(measured.maxAbsoluteError <= 1e-4, "\(measured)")
        }
    }

    /// int8 (every Linear dynamically quantized): sentence embeddings within cosine 0.99 of float32
    /// on the fixture texts (`scripts/check-int8-embeddings` gates 2,000 varied sentences through the
    /// service), and a capture inside a quantized block is float32 and leaves the output unchanged.
    @Test func int8EmbeddingsStayCloseToFloat32() async throws {
        try await onDedicatedThread {
            let float32 = try Self.model()
            var int8 = float32
            try int8.setPrecision(.int8)
            let inputs = try float32.tokenize(Self.texts, maxLength: 128)
            let mask = try #require(inputs["attention_mask"])
            let replica = try int8.makeReplica()
            let plain = try replica.forward(inputs: inputs)
            let reference = try SentencePooling.mean.pool(try float32.makeReplica().forward(inputs: inputs), attentionMask: mask, normalize: true)
            let quantized = try SentencePooling.mean.pool(plain, attentionMask: mask, normalize: true)
            let width = reference.shape[1], a = reference.toArray(), b = quantized.toArray()
            var cosines: [Double] = []
            for row in 0..<reference.shape[0] {
                // Both rows are L2-normalized: the dot product is the cosine.
                cosines.append((0..<width).reduce(0.0) { $0 + Double(a[row * width + $1]) * Double(b[row * width + $1]) })
            }
            #expect(cosines.min()! >= 0.99 && cosines.min()! < 0.999_999_9, "\(cosines)")
            print("all-MiniLM-L6-v2 int8 against float32: cosine min \(cosines.min()!), mean \(cosines.reduce(0, +) / Double(cosines.count))")

            let layers = ["encoder.layer.1.intermediate", "encoder.layer.3.attention.self.query", "last_hidden_state"]
            let features = try replica.extractFeatures(layers: layers.map { .name($0) }, inputs: inputs, stopEarly: false)
            for layer in layers { #expect(features[layer]?.dtype == .float32, "\(layer)") }
            let captured = try #require(features["last_hidden_state"])
            #expect(isClose(captured, plain, tolerance: 1e-5), "\(String(describing: difference(captured, plain)))")
        }
    }

    /// bfloat16 (every Linear, q|k|v packed, in bf16 with float32 sums): every captured layer within
    /// cosine 0.999 of float32 on the fixture texts, and the sentence embeddings too. Skipped, and
    /// reported so, where the CPU lacks AVX512_BF16 (checked, not assumed).
    @Test(.enabled(if: BFloat16GEMM.isAvailable, "needs AVX512_BF16 (checked in /proc/cpuinfo)"))
    func bfloat16AgreesWithFloat32AtEveryLayer() async throws {
        try await onDedicatedThread {
            let float32 = try Self.model()
            var bfloat16 = float32
            try bfloat16.setPrecision(.bfloat16)
            let inputs = try float32.tokenize(Self.texts, maxLength: 128)
            let cosines = try layerCosines(reference: float32, other: bfloat16, inputs: inputs)
            #expect(cosines.count > 50)
            for (layer, cosine) in cosines { #expect(cosine >= 0.999, "\(layer): cosine \(cosine)") }
            let worst = cosines.min { $0.cosine < $1.cosine }!
            print("all-MiniLM-L6-v2 bfloat16 against float32: \(cosines.count) layers, lowest cosine \(worst.cosine) (\(worst.layer)), "
                  + "mean \(cosines.map(\.cosine).reduce(0, +) / Double(cosines.count))")

            let mask = try #require(inputs["attention_mask"])
            let reference = try SentencePooling.mean.pool(try float32.makeReplica().forward(inputs: inputs), attentionMask: mask, normalize: true)
            let embedded = try SentencePooling.mean.pool(try bfloat16.makeReplica().forward(inputs: inputs), attentionMask: mask, normalize: true)
            let width = reference.shape[1], a = reference.toArray(), b = embedded.toArray()
            let sentences = (0..<reference.shape[0]).map { row in (0..<width).reduce(0.0) { $0 + Double(a[row * width + $1]) * Double(b[row * width + $1]) } }
            #expect(sentences.min()! >= 0.999, "\(sentences)")
            print("all-MiniLM-L6-v2 bfloat16 sentence embeddings against float32: cosine min \(sentences.min()!), "
                  + "mean \(sentences.reduce(0, +) / Double(sentences.count))")
        }
    }
}
