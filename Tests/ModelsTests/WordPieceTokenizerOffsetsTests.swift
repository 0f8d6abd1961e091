import Foundation
import Testing
import TestSupport
@testable import Models

/// Token offsets against the Hugging Face fast tokenizer (`tokenizers` 0.23, BertTokenizerFast on
/// the all-MiniLM-L6-v2 vocabulary, which the BERT fixture shares): ids, tokens, special flags and
/// code-point offsets on accents, CJK, emoji, long words, whitespace runs and special tokens in text
/// (`Tests/Fixtures/embeddings/tokenize_offsets.json`, `scripts/fixtures/make_embedding_fixtures.py`).
@Suite struct WordPieceTokenizerOffsetsTests {
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var text: String
        var ids: [Int]
        var tokens: [String]
        var special: [Bool]
        var offsets: [[Int]]
        var testDescription: String { String(text.prefix(40)) }
    }

    static let cases: [Case] = {
        struct File: Decodable { var cases: [Case] }
        let data = try! Data(contentsOf: Fixtures.url("embeddings/tokenize_offsets.json"))
        return try! JSONDecoder().decode(File.self, from: data).cases
    }()

    static let tokenizer = Loaded { try WordPieceTokenizer(directory: Fixtures.url("bert_tiny")) }

    @Test(arguments: cases)
    func matchesTheFastTokenizer(testCase: Case) throws {
        let tokenizer = try Self.tokenizer.get()
        let (spans, untruncated) = try tokenizer.encodedSpans(testCase.text, maxLength: 512)
        #expect(spans.map(\.id) == testCase.ids)
        #expect(spans.map(\.token) == testCase.tokens)
        #expect(spans.map(\.special) == testCase.special)
        #expect(spans.map { [$0.start, $0.end] } == testCase.offsets)
        #expect(untruncated == testCase.ids.count)
        // The same ids as the byte-level tokenizer the model runs.
        #expect(tokenizer.tokenIds(testCase.text).map(Int.init) == spans.dropFirst().dropLast().map(\.id))
    }

    @Test func truncationKeepsTheSpecialTokens() throws {
        let tokenizer = try Self.tokenizer.get()
        let text = "one two three four five"
        let end = try tokenizer.encodedSpans(text, maxLength: 4, truncation: .end)
        #expect(end.spans.map(\.token) == ["[CLS]", "one", "two", "[SEP]"] && end.untruncatedLength == 7)
        let start = try tokenizer.encodedSpans(text, maxLength: 4, truncation: .start)
        #expect(start.spans.map(\.token) == ["[CLS]", "four", "five", "[SEP]"])
        #expect(start.spans[1].start == 14 && start.spans[1].end == 18)
        #expect(throws: TokenizerError.sequenceTooLong(index: 0, tokens: 7, maxLength: 4)) {
            try tokenizer.encodedSpans(text, maxLength: 4, truncation: .none)
        }
    }
}
