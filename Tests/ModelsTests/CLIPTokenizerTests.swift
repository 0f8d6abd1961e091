import Foundation
import Testing
import TestSupport
@testable import Models

/// CLIP's byte-level BPE against Hugging Face's `CLIPTokenizer` built from the same vocab.json and
/// merges.txt (the first 6000 of OpenAI's merges, from open_clip's bpe_simple_vocab_16e6.txt.gz;
/// scripts/fixtures/make_clip_fixtures.py).
@Suite struct CLIPTokenizerTests {
    struct Case {
        var text: String
        var ids: [Int]
        var tokens: [String]
        var offsets: [[Int]]
        var truncatedIds: [Int]
    }

    static let tokenizer = Loaded { try CLIPTokenizer(directory: Fixtures.url("clip_tokenizer")) }

    static let cases: [Case] = {
        let data = try! Data(contentsOf: Fixtures.url("clip_tokenizer/cases.json"))
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (root["cases"] as! [[String: Any]]).map { entry in
            Case(text: entry["text"] as! String, ids: entry["ids"] as! [Int], tokens: entry["tokens"] as! [String],
                 offsets: entry["offsets"] as! [[Int]], truncatedIds: entry["truncated_ids"] as! [Int])
        }
    }()

    @Test(arguments: 0..<cases.count)
    func idsTokensAndOffsetsMatchHuggingFace(index: Int) throws {
        let tokenizer = try Self.tokenizer.get(), expected = Self.cases[index]
        let (spans, untruncated) = try tokenizer.encodedSpans(expected.text, maxLength: 1000)
        #expect(spans.map(\.id) == expected.ids, "\(expected.text)")
        #expect(spans.map(\.token) == expected.tokens)
        #expect(spans.map { [$0.start, $0.end] } == expected.offsets)
        #expect(untruncated == expected.ids.count)
        #expect(try tokenizer.encodedSpans(expected.text).spans.map(\.id) == expected.truncatedIds)
    }

    @Test func batchesPadWithTheEndTokenAndTruncationIsNeverSilent() throws {
        let tokenizer = try Self.tokenizer.get()
        let long = Self.cases.last!
        #expect(long.ids.count > 77)
        let batch = try tokenizer.encode(["a photo of a cat", long.text], maxLength: 77, truncation: .end)
        #expect(batch.sequenceLength == 77)
        #expect(batch.untruncatedLengths == [7, long.ids.count])
        #expect(batch.truncated == [false, true])
        let ids = batch.inputIds.toInt64Array(), mask = batch.attentionMask.toInt64Array()
        #expect(ids[7..<77].allSatisfy { $0 == Int64(tokenizer.endTokenId) })
        #expect(mask[0..<77].reduce(0, +) == 7)
        #expect(Array(ids[77..<154]).map(Int.init) == long.truncatedIds)
        let kept = try tokenizer.encode([long.text], maxLength: 77, truncation: .start).inputIds.toInt64Array().map(Int.init)
        #expect(Array(kept[1..<76]) == Array(long.ids[(long.ids.count - 76)..<(long.ids.count - 1)]))
        #expect(throws: TokenizerError.sequenceTooLong(index: 1, tokens: long.ids.count, maxLength: 77)) {
            _ = try tokenizer.encode(["short", long.text], maxLength: 77, truncation: .none)
        }
        let byIds = try tokenizer.encode(tokenIds: [Self.cases[0].ids.dropFirst().dropLast().map { $0 }])
        #expect(byIds.inputIds.toInt64Array().map(Int.init) == Self.cases[0].ids)
        #expect(throws: TokenizerError.self) { _ = try tokenizer.encode(tokenIds: [[tokenizer.vocabularySize]]) }
    }

    /// A directory saved by transformers 5 (`tokenizer.json`, merges as pairs, and `model_max_length`
    /// 1e30 for "no limit of its own") loads to the same tokenizer.
    @Test func tokenizerJSONDirectoryLoads() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clip-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let vocabulary = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("clip_tokenizer/vocab.json")))
        let merges = try String(contentsOf: Fixtures.url("clip_tokenizer/merges.txt"), encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: " ").map(String.init) }
        let root: [String: Any] = ["model": ["type": "BPE", "vocab": vocabulary, "merges": merges, "end_of_word_suffix": "</w>"]]
        try JSONSerialization.data(withJSONObject: root).write(to: directory.appendingPathComponent("tokenizer.json"))
        try Data(#"{"model_max_length": 1000000000000000019884624838656, "pad_token": "<|endoftext|>", "bos_token": {"content": "<|startoftext|>"}}"#.utf8)
            .write(to: directory.appendingPathComponent("tokenizer_config.json"))
        let loaded = try CLIPTokenizer(directory: directory)
        #expect(loaded.modelMaxLength == 1 << 20)
        let text = Self.cases[2].text
        #expect(try loaded.encodedSpans(text).spans.map(\.id) == Self.cases[2].ids)
    }

    @Test func missingFilesAndBadMergesAreNamed() throws {
        #expect { _ = try CLIPTokenizer(vocabulary: ["a": 0, "b": 1, "<|startoftext|>": 2, "<|endoftext|>": 3], merges: [("a", "b")]) }
            throws: { "\($0)".contains("merges") }
        #expect { _ = try CLIPTokenizer(vocabulary: ["a": 0], merges: []) } throws: { "\($0)".contains("bos_token") }
        #expect(!CLIPTokenizer.isPresent(in: Fixtures.url("bert_tiny")))
    }
}
