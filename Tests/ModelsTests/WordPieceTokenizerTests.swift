import Foundation
import Testing
import Tensors
import TestSupport
@testable import Models

private func rows(_ tensor: Tensor) -> [[Int]] {
    let values = tensor.toInt64Array().map(Int.init)
    let width = tensor.shape[1]
    return (0..<tensor.shape[0]).map { Array(values[($0 * width)..<(($0 + 1) * width)]) }
}

@Suite struct WordPieceTokenizerTests {
    let tokenizer = TokenizerFixtures.bertTiny

    // MARK: - Parity with Hugging Face

    /// Every case of the shared fixture: ids, tokens and mask exactly as `BertTokenizer`.
    @Test(arguments: TokenizerFixtures.cases)
    func matchesSharedCases(testCase: TokenizerFixtures.Case) throws {
        let batch = try tokenizer([testCase.text], maxLength: testCase.maxLength)
        #expect(rows(batch.inputIds) == [testCase.inputIds])
        #expect(rows(batch.attentionMask) == [Array(repeating: 1, count: testCase.inputIds.count)])
        #expect(rows(batch.tokenTypeIds) == [Array(repeating: 0, count: testCase.inputIds.count)])
        if let tokens = testCase.tokens { #expect(batch.tokens == [tokens]) }
    }

    /// 206 more texts: every Unicode class the pipeline distinguishes, special tokens in the text, the
    /// word length limit, and seeded random strings over many scripts.
    @Test(arguments: TokenizerFixtures.extraCases)
    func matchesExtraCases(testCase: TokenizerFixtures.Case) throws {
        let batch = try tokenizer([testCase.text], maxLength: 512)
        #expect(rows(batch.inputIds) == [testCase.inputIds])
        if let tokens = testCase.tokens { #expect(batch.tokens == [tokens]) }
    }

    @Test(arguments: TokenizerFixtures.pairCases)
    func matchesPairTruncation(testCase: TokenizerFixtures.PairCase) throws {
        let batch = try tokenizer([testCase.text], pairs: [testCase.pair], maxLength: testCase.maxLength)
        #expect(rows(batch.inputIds) == [testCase.inputIds])
        #expect(rows(batch.tokenTypeIds) == [testCase.tokenTypeIds])
    }

    @Test(arguments: TokenizerFixtures.batchCases)
    func matchesBatchPadding(testCase: TokenizerFixtures.BatchCase) throws {
        let padding = try #require(WordPieceTokenizer.Padding(rawValue: testCase.padding))
        let batch = try tokenizer(testCase.texts, maxLength: testCase.maxLength, padding: padding)
        #expect(rows(batch.inputIds) == testCase.inputIds)
        #expect(rows(batch.attentionMask) == testCase.attentionMask)
        #expect(rows(batch.tokenTypeIds) == testCase.tokenTypeIds)
        #expect(batch.lengths == testCase.attentionMask.map { $0.reduce(0, +) })
    }

    /// bert_tiny's inputs.json → the input_ids and attention_mask PyTorch ran (max_length 32, padded to longest).
    @Test func matchesBertTinyInputs() throws {
        let inputs = try TokenizerFixtures.inputs("bert_tiny")
        let expected = try SafetensorsTestReader(contentsOf: Fixtures.url("bert_tiny/expected.safetensors"))
        let batch = try tokenizer(inputs.texts, maxLength: inputs.maxLength)
        #expect(batch.inputIds.dtype == .int64)
        #expect(batch.inputIds.shape == [2, 16])
        #expect(batch.inputIds.toInt64Array() == (try expected.tensor("input_ids")).toInt64Array())
        #expect(batch.attentionMask.toInt64Array() == (try expected.tensor("attention_mask")).toInt64Array())
    }

    /// all-MiniLM-L6-v2 (same vocabulary and tokenizer settings as bert_tiny): its inputs.json texts.
    @Test func matchesMiniLMInputs() throws {
        let inputs = try TokenizerFixtures.inputs("minilm")
        let expected = try SafetensorsTestReader(contentsOf: Fixtures.url("minilm/expected.safetensors"))
        let batch = try tokenizer(inputs.texts, maxLength: inputs.maxLength)
        #expect(batch.inputIds.shape == (try expected.tensor("input_ids")).shape)
        #expect(batch.inputIds.toInt64Array() == (try expected.tensor("input_ids")).toInt64Array())
        #expect(batch.attentionMask.toInt64Array() == (try expected.tensor("attention_mask")).toInt64Array())
    }

    // MARK: - WordPiece

    /// The classic example over a hand-made vocabulary: greedy longest match first, "##" continuations,
    /// and a word with an unmatchable part becomes one [UNK].
    @Test func greedyLongestMatchFirst() throws {
        let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "##a", "aff", "##ff", "runn", "##ing", ","]
        let tokenizer = try WordPieceTokenizer(vocabulary: vocabulary)
        #expect(tokenizer.tokenize("unaffable") == ["un", "##aff", "##able"])
        #expect(tokenizer.tokenize("running, unaffx") == ["runn", "##ing", ",", "[UNK]"])
        #expect(tokenizer.tokenize("UNAFFABLE") == ["un", "##aff", "##able"])
        #expect(tokenizer.tokenize("xyz aff") == ["[UNK]", "aff"])
    }

    @Test func wordLengthLimitCountsCodePoints() throws {
        let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "e", "##e", "##\u{301}"]
        let keepAccents = try WordPieceTokenizer(vocabulary: vocabulary, configuration: .init(lowercase: false))
        // 50 × "e + combining acute" is 50 characters but 100 code points: still within the limit.
        #expect(keepAccents.tokenize(String(repeating: "e\u{301}", count: 50)).count == 100)
        #expect(keepAccents.tokenize(String(repeating: "e\u{301}", count: 50) + "e") == ["[UNK]"])
        let limited = try WordPieceTokenizer(vocabulary: vocabulary, configuration: .init(maxInputCharactersPerWord: 3))
        #expect(limited.tokenize("eee eeee") == ["e", "##e", "##e", "[UNK]"])
    }

    /// Vocabulary entries are matched by code points: "é" and "e\u{301}" are different tokens even
    /// though Swift strings compare them equal.
    @Test func vocabularyLookupIsByCodePoints() throws {
        let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "caf\u{e9}", "cafe\u{301}"]
        let tokenizer = try WordPieceTokenizer(vocabulary: vocabulary, configuration: .init(lowercase: false))
        #expect(tokenizer.id(of: "caf\u{e9}") == 4)
        #expect(tokenizer.id(of: "cafe\u{301}") == 5)
        #expect(tokenizer.tokenIds("caf\u{e9} cafe\u{301}") == [4, 5])
    }

    @Test func specialTokensInTextStayWhole() throws {
        #expect(tokenizer.tokenize("a [MASK] b[SEP]c [mask]") == ["a", "[MASK]", "b", "[SEP]", "c", "[", "mask", "]"])
        let custom = try WordPieceTokenizer(vocabulary: tokenizer.vocabulary, configuration: .init(neverSplit: ["<keep-me>"]))
        #expect(custom.tokenize("x <keep-me> y") == ["x", "[UNK]", "y"])
    }

    // MARK: - Encoding

    @Test(arguments: [
        // (first, second, budget, expected first, expected second): the Rust longest-first rule.
        (10, 4, 3, 2, 1), (4, 10, 3, 1, 2), (10, 4, 5, 3, 2), (10, 4, 12, 8, 4), (3, 3, 20, 3, 3),
        (7, 7, 7, 3, 4), (0, 9, 4, 0, 4), (9, 0, 4, 4, 0), (5, 5, 0, 0, 0),
    ])
    func pairTruncationIsLongestFirst(first: Int, second: Int, budget: Int, expectedFirst: Int, expectedSecond: Int) {
        let lengths = WordPieceTokenizer.longestFirstLengths(first, second, budget: budget)
        #expect(lengths.first == expectedFirst && lengths.second == expectedSecond)
    }

    @Test func defaultMaxLengthIsTheModels() throws {
        let long = Array(repeating: "word", count: 600).joined(separator: " ")
        let batch = try tokenizer([long, "short"])
        #expect(batch.inputIds.shape == [2, 512])
        #expect(batch.tokens[0].first == "[CLS]" && batch.tokens[0].last == "[SEP]")
        #expect(batch.lengths == [512, 3])
    }

    @Test func invalidRequestsAreErrors() {
        #expect(throws: TokenizerError.emptyBatch) { try tokenizer([]) }
        #expect(throws: TokenizerError.pairCountMismatch(texts: 2, pairs: 1)) { try tokenizer(["a", "b"], pairs: ["c"]) }
        #expect(throws: TokenizerError.maxLengthTooSmall(maxLength: 1, minimum: 2)) { try tokenizer(["a"], maxLength: 1) }
        #expect(throws: TokenizerError.maxLengthTooSmall(maxLength: 2, minimum: 3)) { try tokenizer(["a"], pairs: ["b"], maxLength: 2) }
    }

    // MARK: - Loading

    @Test func readsVocabularyLinesLikePython() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("periscope-vocab-\(UInt64.random(in: 0...UInt64.max)).txt")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data("[PAD]\r\n[UNK]\n[CLS]\r[SEP]\n\nlast".utf8).write(to: url)
        #expect(try WordPieceTokenizer.readVocabulary(url) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "", "last"])
    }

    @Test func decodesTokenizerConfiguration() throws {
        let json = #"""
        {"do_lower_case": false, "strip_accents": true, "tokenize_chinese_chars": false, "never_split": ["<x>"],
         "unk_token": {"content": "[UNK]", "__type": "AddedToken"}, "cls_token": "[CLS]",
         "model_max_length": 1000000000000000019884624838656, "tokenizer_class": "BertTokenizer"}
        """#
        let configuration = try JSONDecoder().decode(WordPieceTokenizer.Configuration.self, from: Data(json.utf8))
        #expect(configuration == .init(lowercase: false, stripAccents: true, splitChineseCharacters: false, neverSplit: ["<x>"],
                                       modelMaxLength: Int(Int32.max)))
        #expect(TokenizerFixtures.bertTiny.configuration == .init(modelMaxLength: 512))
    }

    @Test(arguments: [
        (#"{"do_lower_case": "yes"}"#, "do_lower_case"),
        (#"{"never_split": "x"}"#, "never_split"),
        (#"{"cls_token": 5}"#, "cls_token"),
        (#"{"model_max_length": 0}"#, "model_max_length"),
        (#"{"max_input_chars_per_word": -1}"#, "max_input_chars_per_word"),
    ])
    func invalidConfigurationNamesItsKey(json: String, key: String) {
        #expect {
            try JSONDecoder().decode(WordPieceTokenizer.Configuration.self, from: Data(json.utf8))
        } throws: { error in
            guard case TokenizerError.invalidConfiguration(let errorKey, _) = error else { return false }
            return errorKey == key
        }
    }

    @Test func missingSpecialTokenIsNamed() {
        #expect(throws: TokenizerError.missingSpecialToken(key: "sep_token", token: "[SEP]")) {
            try WordPieceTokenizer(vocabulary: ["[PAD]", "[UNK]", "[CLS]", "hello"])
        }
    }

    @Test func missingFilesAreErrors() {
        #expect(throws: TokenizerError.self) { try WordPieceTokenizer(directory: URL(fileURLWithPath: "/nonexistent/model")) }
    }
}

// MARK: - Throughput

/// Tokens per second on a corpus of one sentence per line, for comparison with
/// `scripts/bench_tokenizer.py` (which also writes a corpus). Runs only when asked:
/// `PERISCOPE_TOKENIZER_CORPUS=FILE swift test -c release -Xswiftc -enable-testing --filter WordPieceTokenizerTests/throughput`.
extension WordPieceTokenizerTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PERISCOPE_TOKENIZER_CORPUS"] != nil))
    func throughput() throws {
        let path = ProcessInfo.processInfo.environment["PERISCOPE_TOKENIZER_CORPUS"]!
        let sentences = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let tokenizer = TokenizerFixtures.bertTiny
        var tokenCount = 0
        for sentence in sentences { tokenCount += tokenizer.tokenIds(sentence).count }
        #expect(tokenCount > 0)
        func median(_ body: () throws -> Void) rethrows -> Double {
            var times: [Double] = []
            for _ in 0..<9 {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return times.sorted()[times.count / 2]
        }
        let perSentence = median {
            var count = 0
            for sentence in sentences { count += tokenizer.tokenIds(sentence).count }
            precondition(count == tokenCount)
        }
        let batched = try median {
            let batch = try tokenizer(sentences, maxLength: 100_000)
            precondition(batch.lengths.reduce(0, +) == tokenCount + 2 * sentences.count)
        }
        print("tokenizer throughput: \(sentences.count) sentences, \(tokenCount) tokens; tokenIds per sentence: median "
              + "\(String(format: "%.1f", perSentence * 1000)) ms = \(Int(Double(tokenCount) / perSentence)) tokens/s; "
              + "one padded batch with tensors: \(String(format: "%.1f", batched * 1000)) ms = \(Int(Double(tokenCount) / batched)) tokens/s")
    }
}
