import Foundation
import Testing
import TestSupport
@testable import Models

/// Reading a sentence-transformers directory (`Tests/Fixtures/embeddings/st_tiny`, written by
/// sentence-transformers 6.3) and the registration's `embedding` settings.
@Suite struct SentenceTransformersDirectoryTests {
    @Test func readsModulesPoolingDenseNormalizeAndPrompts() throws {
        let directory = Fixtures.url("embeddings/st_tiny")
        #expect(SentenceTransformersDirectory.isPresent(in: directory))
        let configuration = try SentenceTransformersDirectory.load(directory)
        #expect(configuration.pooling == .mean && configuration.normalize && configuration.source == "sentence-transformers")
        #expect(configuration.dense.count == 1 && configuration.dense[0].inputFeatures == 32 && configuration.dense[0].outputFeatures == 16)
        #expect(configuration.dense[0].activation == .tanh && configuration.dense[0].bias != nil)
        #expect(configuration.prompts == ["query": "query: ", "passage": "passage: "])
        #expect(configuration.defaultPromptName == nil && configuration.truncation == .end)
        #expect(configuration.outputWidth(pooledWidth: 32) == 16)
        #expect(!SentenceTransformersDirectory.isPresent(in: Fixtures.url("bert_tiny")))
    }

    @Test func embeddingSettingsFromTheRegistration() throws {
        let defaults = try EmbeddingConfiguration(configuration: Data(#"{"hidden_size": 32}"#.utf8))
        #expect(defaults.pooling == .mean && defaults.normalize && defaults.matryoshkaDimensions.isEmpty && defaults.truncation == .end)
        let custom = try EmbeddingConfiguration(configuration: Data(#"{"embedding": {"pool": "cls", "normalize": false, "matryoshka_dimensions": [64, 128], "truncate": "none", "max_seq_length": 32, "prompts": {"q": "query: "}, "default_prompt_name": "q"}}"#.utf8))
        #expect(custom.pooling == .cls && !custom.normalize && custom.matryoshkaDimensions == [128, 64])
        #expect(custom.truncation == .none && custom.maxSequenceLength == 32 && custom.defaultPromptName == "q")
        #expect(try EmbeddingConfiguration(configuration: Data(#"{"embedding": {"pool": "none"}}"#.utf8)).pooling == nil)
    }

    @Test(arguments: [
        (#"{"embedding": 3}"#, "embedding"),
        (#"{"embedding": {"pool": "avg"}}"#, "embedding.pool"),
        (#"{"embedding": {"normalize": "yes"}}"#, "embedding.normalize"),
        (#"{"embedding": {"matryoshka_dimensions": [0]}}"#, "embedding.matryoshka_dimensions"),
        (#"{"embedding": {"truncate": "middle"}}"#, "embedding.truncate"),
        (#"{"embedding": {"max_seq_length": 1}}"#, "embedding.max_seq_length"),
        (#"{"embedding": {"default_prompt_name": "q"}}"#, "embedding.default_prompt_name"),
        (#"{"embedding": {"pooling": "mean"}}"#, "embedding.pooling"),
    ])
    func badEmbeddingSettingsNameTheKey(json: String, key: String) {
        #expect {
            _ = try EmbeddingConfiguration(configuration: Data(json.utf8))
        } throws: { error in
            String(describing: error).hasPrefix(key)
        }
    }
}
