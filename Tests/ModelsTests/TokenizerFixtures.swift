import Foundation
import Tensors
import TestSupport
@testable import Models

/// The tokenizer reference data: `wordpiece_cases.json` (from ../shared/fixtures) and
/// `wordpiece_extra_cases.json` (scripts/fixtures/make_tokenizer_cases.py), both Hugging Face's
/// `BertTokenizer` on the bert_tiny (= all-MiniLM-L6-v2) vocabulary.
enum TokenizerFixtures {
    struct Case: Decodable, Sendable, CustomStringConvertible {
        var text: String
        var maxLength: Int?
        var inputIds: [Int]
        var tokens: [String]?

        enum CodingKeys: String, CodingKey {
            case text, tokens
            case maxLength = "max_length"
            case inputIds = "input_ids"
        }

        /// The text, escaped and shortened, as the test's argument label.
        var description: String {
            let escaped = text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined()
            return escaped.count > 60 ? String(escaped.prefix(60)) + "…" : escaped
        }
    }

    struct PairCase: Decodable, Sendable, CustomStringConvertible {
        var text: String
        var pair: String
        var maxLength: Int
        var inputIds: [Int]
        var tokenTypeIds: [Int]

        enum CodingKeys: String, CodingKey {
            case text, pair
            case maxLength = "max_length"
            case inputIds = "input_ids"
            case tokenTypeIds = "token_type_ids"
        }

        var description: String { "\(text.prefix(12))… + \(pair.prefix(12))… @ \(maxLength)" }
    }

    struct BatchCase: Decodable, Sendable, CustomStringConvertible {
        var texts: [String]
        var padding: String
        var maxLength: Int
        var inputIds: [[Int]]
        var attentionMask: [[Int]]
        var tokenTypeIds: [[Int]]

        enum CodingKeys: String, CodingKey {
            case texts, padding
            case maxLength = "max_length"
            case inputIds = "input_ids"
            case attentionMask = "attention_mask"
            case tokenTypeIds = "token_type_ids"
        }

        var description: String { "\(padding) @ \(maxLength)" }
    }

    private struct Extra: Decodable {
        var cases: [Case]
        var pairs: [PairCase]
        var batches: [BatchCase]
    }

    static let cases: [Case] = try! JSONDecoder().decode([Case].self, from: Data(contentsOf: Fixtures.url("wordpiece_cases.json")))
    private static let extra = try! JSONDecoder().decode(Extra.self, from: Data(contentsOf: Fixtures.url("wordpiece_extra_cases.json")))
    static var extraCases: [Case] { extra.cases }
    static var pairCases: [PairCase] { extra.pairs }
    static var batchCases: [BatchCase] { extra.batches }

    /// The bert_tiny tokenizer (vocab.txt + tokenizer_config.json), loaded once.
    static let bertTiny: WordPieceTokenizer = try! WordPieceTokenizer(directory: Fixtures.url("bert_tiny"))

    /// A fixture's `inputs.json` texts and max_length.
    static func inputs(_ folder: String) throws -> (texts: [String], maxLength: Int) {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url(folder + "/inputs.json"))) as! [String: Any]
        return (object["texts"] as! [String], object["max_length"] as! Int)
    }
}
