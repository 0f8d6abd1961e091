import Foundation
import Tensors

/// The WordPiece tokenizer of BERT-family models, identical to Hugging Face's `BertTokenizer`
/// (transformers 5, which runs the Rust `tokenizers` pipeline: added-token splitting, `BertNormalizer`,
/// `BertPreTokenizer`, `WordPiece`, then the `[CLS] A [SEP] B [SEP]` template), loaded from a model
/// directory's `vocab.txt` and `tokenizer_config.json`.
///
/// Steps: special tokens written in the text (`[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`, `[MASK]`, and any
/// `never_split` entries) are cut out first and kept whole; the rest goes through `BasicTokenizer`
/// (cleanup, CJK splitting, accent stripping, lowercasing, whitespace and punctuation splitting); each
/// word becomes the greedy longest-match-first WordPiece sequence (continuations prefixed `##`), or a
/// single `[UNK]` when some part of it has no match or it is longer than 100 code points. Encoding
/// truncates to `max_length` (longest-first for pairs, as the Rust truncation does), adds the special
/// tokens, and pads a batch to its longest sequence or to `max_length`.
public struct WordPieceTokenizer: Sendable {
    /// How a batch is padded.
    public enum Padding: String, Sendable, Codable {
        /// To the longest sequence in the batch (`padding=True`).
        case longest
        /// To the maximum length (`padding="max_length"`).
        case maxLength = "max_length"
    }

    public let configuration: Configuration
    /// Token strings by id, as listed in vocab.txt.
    public let vocabulary: [String]
    public let unknownTokenId: Int32
    public let classifierTokenId: Int32
    public let separatorTokenId: Int32
    public let paddingTokenId: Int32

    let trie: VocabularyTrie
    /// The node of the continuation prefix ("##"): continuation pieces are matched from here.
    let continuationNode: VocabularyTrie.Node?
    let basicTokenizer: BasicTokenizer
    /// Tokens cut out of the raw text before normalization, longest first for leftmost-longest matching.
    let unsplittableTokens: [(bytes: [UInt8], id: Int32)]

    // MARK: - Loading

    /// A tokenizer over `vocabulary` (token strings by id).
    public init(vocabulary: [String], configuration: Configuration = Configuration()) throws {
        self.configuration = configuration
        self.vocabulary = vocabulary
        let trie = VocabularyTrie(tokens: vocabulary)
        self.trie = trie
        func requiredId(_ key: String, _ token: String) throws -> Int32 {
            guard let id = trie.id(of: token) else { throw TokenizerError.missingSpecialToken(key: key, token: token) }
            return id
        }
        unknownTokenId = try requiredId("unk_token", configuration.unknownToken)
        classifierTokenId = try requiredId("cls_token", configuration.classifierToken)
        separatorTokenId = try requiredId("sep_token", configuration.separatorToken)
        paddingTokenId = try requiredId("pad_token", configuration.paddingToken)
        continuationNode = trie.node(after: configuration.continuingSubwordPrefix.utf8)
        basicTokenizer = BasicTokenizer(lowercase: configuration.lowercase, stripAccents: configuration.stripAccents,
                                        splitChineseCharacters: configuration.splitChineseCharacters)
        var unsplittable: [(bytes: [UInt8], id: Int32)] = []
        let candidates = [configuration.paddingToken, configuration.unknownToken, configuration.classifierToken,
                          configuration.separatorToken, configuration.maskToken] + configuration.neverSplit
        for token in candidates where !token.isEmpty {
            // A never_split entry outside the vocabulary still stays whole; as a token it is unknown.
            let bytes = Array(token.utf8)
            if !unsplittable.contains(where: { $0.bytes == bytes }) {
                unsplittable.append((bytes, trie.id(of: token) ?? unknownTokenId))
            }
        }
        unsplittableTokens = unsplittable.sorted { $0.bytes.count > $1.bytes.count }
    }

    /// Loads `vocab.txt` (one token per line; the line number is the id).
    public init(vocabularyFile: URL, configuration: Configuration = Configuration()) throws {
        try self.init(vocabulary: Self.readVocabulary(vocabularyFile), configuration: configuration)
    }

    /// Loads a Hugging Face model directory: `vocab.txt` and, if present, `tokenizer_config.json`.
    public init(directory: URL) throws {
        let configurationFile = directory.appendingPathComponent("tokenizer_config.json")
        var configuration = Configuration()
        if FileManager.default.fileExists(atPath: configurationFile.path) {
            configuration = try Configuration(contentsOf: configurationFile)
        }
        try self.init(vocabularyFile: directory.appendingPathComponent("vocab.txt"), configuration: configuration)
    }

    /// The lines of a vocab.txt, split like Python's universal newlines (\n, \r\n or \r).
    public static func readVocabulary(_ url: URL) throws -> [String] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.unreadableFile(path: url.path, reason: "not valid UTF-8")
        }
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousWasCarriageReturn = false
        for scalar in text.unicodeScalars {
            if scalar == "\n" && previousWasCarriageReturn {
                previousWasCarriageReturn = false
                continue
            }
            previousWasCarriageReturn = scalar == "\r"
            if scalar == "\n" || scalar == "\r" {
                lines.append(String(current))
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        guard !lines.isEmpty else { throw TokenizerError.unreadableFile(path: url.path, reason: "empty vocabulary") }
        return lines
    }

    // MARK: - Tokens

    /// The vocabulary id of `token` (exact code points), or nil.
    public func id(of token: String) -> Int? {
        trie.id(of: token).map(Int.init)
    }

    /// The WordPiece token ids of `text`, without special tokens or truncation.
    public func tokenIds(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        var words = WordBuffer()
        var text = text
        text.withUTF8 { appendTokenIds(of: $0, to: &ids, words: &words) }
        return ids
    }

    /// The WordPiece tokens of `text`, without special tokens or truncation.
    public func tokenize(_ text: String) -> [String] {
        tokenIds(text).map { vocabulary[Int($0)] }
    }

    /// Cuts out the unsplittable tokens, runs the basic tokenizer and WordPiece on the rest.
    private func appendTokenIds(of text: UnsafeBufferPointer<UInt8>, to ids: inout [Int32], words: inout WordBuffer) {
        var segmentStart = 0
        var index = 0
        while index < text.count {
            var matched: (length: Int, id: Int32)?
            for token in unsplittableTokens where token.bytes.first == text[index] && token.bytes.count <= text.count - index {
                if token.bytes.indices.allSatisfy({ token.bytes[$0] == text[index + $0] }) {
                    matched = (token.bytes.count, token.id)
                    break
                }
            }
            guard let match = matched else {
                index += 1
                continue
            }
            appendWordPieces(of: UnsafeBufferPointer(rebasing: text[segmentStart..<index]), to: &ids, words: &words)
            ids.append(match.id)
            index += match.length
            segmentStart = index
        }
        appendWordPieces(of: UnsafeBufferPointer(rebasing: text[segmentStart..<text.count]), to: &ids, words: &words)
    }

    private func appendWordPieces(of segment: UnsafeBufferPointer<UInt8>, to ids: inout [Int32], words: inout WordBuffer) {
        guard !segment.isEmpty else { return }
        words.removeAll()
        basicTokenizer.appendWords(of: segment, to: &words)
        words.bytes.withUnsafeBufferPointer { bytes in
            for word in 0..<words.count {
                let range = words.range(of: word)
                if words.scalarCounts[word] > configuration.maxInputCharactersPerWord {
                    ids.append(unknownTokenId)
                    continue
                }
                let firstPiece = ids.count
                var start = range.lowerBound
                while start < range.upperBound {
                    let node = start == range.lowerBound ? VocabularyTrie.root : continuationNode
                    guard let node, let match = trie.longestMatch(in: bytes, from: start, to: range.upperBound, startingAt: node) else {
                        // Some part of the word has no piece: the whole word is unknown.
                        ids.removeSubrange(firstPiece...)
                        ids.append(unknownTokenId)
                        break
                    }
                    ids.append(match.id)
                    start = match.end
                }
            }
        }
    }

    // MARK: - Encoding

    /// One encoded sequence: ids with special tokens, their token type ids, and the length the
    /// sequence would have had without truncation.
    struct EncodedSequence {
        var ids: [Int32]
        var typeIds: [Int32]
        var untruncatedLength: Int
    }

    /// `[CLS] text [SEP]` (or `[CLS] text [SEP] pair [SEP]`) truncated to `maxLength` tokens.
    func encode(_ text: String, pair: String?, maxLength: Int, truncation: TruncationMode = .end) throws -> EncodedSequence {
        try encode(ids: tokenIds(text), pair: pair.map(tokenIds), maxLength: maxLength, truncation: truncation)
    }

    /// Wraps WordPiece ids (and a pair's) in the special tokens, truncated per `truncation`: `end`
    /// keeps the first tokens, `start` the last ones (pairs: longest-first either way), `none`
    /// throws `sequenceTooLong` (index 0; the batch call puts in the input's index).
    func encode(ids first: [Int32], pair second: [Int32]?, maxLength: Int, truncation: TruncationMode) throws -> EncodedSequence {
        let specialCount = second == nil ? 2 : 3
        guard maxLength >= specialCount else { throw TokenizerError.maxLengthTooSmall(maxLength: maxLength, minimum: specialCount) }
        let budget = maxLength - specialCount
        let untruncated = first.count + (second?.count ?? 0) + specialCount
        if truncation == .none && untruncated > maxLength {
            throw TokenizerError.sequenceTooLong(index: 0, tokens: untruncated, maxLength: maxLength)
        }
        func cut(_ ids: [Int32], to count: Int) -> [Int32] {
            truncation == .start ? Array(ids.suffix(count)) : Array(ids.prefix(count))
        }
        guard let second else {
            let kept = cut(first, to: budget)
            return EncodedSequence(ids: [classifierTokenId] + kept + [separatorTokenId],
                                   typeIds: [Int32](repeating: 0, count: kept.count + 2), untruncatedLength: untruncated)
        }
        let lengths = Self.longestFirstLengths(first.count, second.count, budget: budget)
        let keptFirst = cut(first, to: lengths.first), keptSecond = cut(second, to: lengths.second)
        return EncodedSequence(ids: [classifierTokenId] + keptFirst + [separatorTokenId] + keptSecond + [separatorTokenId],
                               typeIds: [Int32](repeating: 0, count: keptFirst.count + 2) + [Int32](repeating: 1, count: keptSecond.count + 1),
                               untruncatedLength: untruncated)
    }

    /// The Rust `tokenizers` longest-first truncation of a pair to `budget` tokens: the shorter
    /// sequence keeps its length when the longer one can absorb the cut; otherwise both get half.
    static func longestFirstLengths(_ first: Int, _ second: Int, budget: Int) -> (first: Int, second: Int) {
        guard first + second > budget else { return (first, second) }
        let swapped = first > second
        var shorter = min(first, second)
        var longer = shorter > budget ? shorter : max(shorter, budget - shorter)
        if shorter + longer > budget {
            shorter = budget / 2
            longer = shorter + budget % 2
        }
        return swapped ? (longer, shorter) : (shorter, longer)
    }

    /// Encodes a batch: truncates each text (or text pair) to `maxLength` tokens (default: the
    /// configuration's `model_max_length`) per `truncation`, adds [CLS]/[SEP], pads, and builds
    /// int64 [batch, sequence] tensors. With `.none`, an over-long text throws `sequenceTooLong`
    /// naming its index and token count.
    public func callAsFunction(_ texts: [String], pairs: [String]? = nil, maxLength: Int? = nil,
                               padding: Padding = .longest, truncation: TruncationMode = .end) throws -> TokenizedBatch {
        guard !texts.isEmpty else { throw TokenizerError.emptyBatch }
        if let pairs, pairs.count != texts.count {
            throw TokenizerError.pairCountMismatch(texts: texts.count, pairs: pairs.count)
        }
        let limit = maxLength ?? configuration.modelMaxLength
        var sequences: [EncodedSequence] = []
        sequences.reserveCapacity(texts.count)
        for (index, text) in texts.enumerated() {
            sequences.append(try Self.naming(index) {
                try encode(ids: tokenIds(text), pair: pairs.map { tokenIds($0[index]) }, maxLength: limit, truncation: truncation)
            })
        }
        return batch(sequences, length: padding == .maxLength ? limit : nil)
    }

    /// Encodes pre-tokenized inputs: WordPiece ids without special tokens (as `tokenIds` gives them,
    /// or `add_special_tokens=False` in Hugging Face), each wrapped in [CLS]/[SEP] and truncated
    /// like text. Ids outside the vocabulary throw `tokenIdOutOfRange`.
    public func encode(tokenIds inputs: [[Int]], maxLength: Int? = nil, truncation: TruncationMode = .end) throws -> TokenizedBatch {
        guard !inputs.isEmpty else { throw TokenizerError.emptyBatch }
        let limit = maxLength ?? configuration.modelMaxLength
        var sequences: [EncodedSequence] = []
        for (index, ids) in inputs.enumerated() {
            if let position = ids.firstIndex(where: { $0 < 0 || $0 >= vocabulary.count }) {
                throw TokenizerError.tokenIdOutOfRange(index: index, position: position, id: ids[position], vocabularySize: vocabulary.count)
            }
            sequences.append(try Self.naming(index) {
                try encode(ids: ids.map { Int32($0) }, pair: nil, maxLength: limit, truncation: truncation)
            })
        }
        return batch(sequences, length: nil)
    }

    /// Runs `encode`, putting `index` into a `sequenceTooLong` it throws.
    private static func naming(_ index: Int, _ encode: () throws -> EncodedSequence) throws -> EncodedSequence {
        do {
            return try encode()
        } catch TokenizerError.sequenceTooLong(_, let tokens, let maxLength) {
            throw TokenizerError.sequenceTooLong(index: index, tokens: tokens, maxLength: maxLength)
        }
    }

    /// Pads `sequences` to `length` (nil: the longest) into int64 tensors.
    private func batch(_ sequences: [EncodedSequence], length fixedLength: Int?) -> TokenizedBatch {
        let rows = sequences.count
        let length = fixedLength ?? sequences.map(\.ids.count).max()!
        var ids = [Int64](repeating: Int64(paddingTokenId), count: rows * length)
        var mask = [Int64](repeating: 0, count: rows * length)
        var types = [Int64](repeating: 0, count: rows * length)
        for (row, sequence) in sequences.enumerated() {
            for (column, id) in sequence.ids.enumerated() {
                ids[row * length + column] = Int64(id)
                mask[row * length + column] = 1
                types[row * length + column] = Int64(sequence.typeIds[column])
            }
        }
        return TokenizedBatch(inputIds: Tensor(shape: [rows, length], elements: ids),
                              attentionMask: Tensor(shape: [rows, length], elements: mask),
                              tokenTypeIds: Tensor(shape: [rows, length], elements: types),
                              tokens: sequences.map { $0.ids.map { vocabulary[Int($0)] } },
                              untruncatedLengths: sequences.map(\.untruncatedLength))
    }
}
