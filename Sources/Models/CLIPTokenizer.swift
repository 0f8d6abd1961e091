import Foundation
import Tensors

/// CLIP's byte-level BPE tokenizer, identical to Hugging Face's `CLIPTokenizer` (transformers 5, the
/// Rust `tokenizers` pipeline), loaded from a model directory's `vocab.json` + `merges.txt` or its
/// `tokenizer.json`, with `tokenizer_config.json`'s `model_max_length` and special tokens.
///
/// Steps: the special tokens written in the text (`<|startoftext|>`, `<|endoftext|>`) are cut out
/// first and kept whole; the rest is normalized (NFC, every whitespace run → one space, lowercase),
/// split into words by CLIP's pattern (`<|startoftext|>`, `<|endoftext|>`, the contractions `'s 't
/// 're 've 'm 'll 'd`, letter runs, single digits, runs of other non-space characters; spaces are
/// dropped), each word's UTF-8 bytes mapped to GPT-2's printable byte alphabet, its last symbol
/// suffixed `</w>`, and the merges applied by rank. Encoding adds `<|startoftext|>` … `<|endoftext|>`,
/// truncates per `TruncationMode` (never silently: `none` refuses) and pads with the padding token
/// (`<|endoftext|>` in OpenAI's files). Offsets are code points of the original text, as Hugging Face
/// reports them.
public struct CLIPTokenizer: TextTokenizer {
    /// Token strings by id.
    public let vocabulary: [String]
    public let modelMaxLength: Int
    public let beginTokenId: Int32
    public let endTokenId: Int32
    public let paddingTokenId: Int32
    public let unknownTokenId: Int32
    let ids: [String: Int32]
    let merges: BytePairMerges
    /// Special tokens cut out of the raw text, longest first.
    let specialTokens: [(scalars: [Unicode.Scalar], id: Int32)]

    public var vocabularySize: Int { vocabulary.count }

    // MARK: - Loading

    /// A tokenizer over `vocabulary` (token → id) and `merges` (pairs in rank order).
    public init(vocabulary tokens: [String: Int], merges pairs: [(String, String)], modelMaxLength: Int = 77,
                beginToken: String = "<|startoftext|>", endToken: String = "<|endoftext|>", paddingToken: String? = nil,
                unknownToken: String? = nil) throws {
        guard let largest = tokens.values.max(), tokens.values.allSatisfy({ $0 >= 0 }), Set(tokens.values).count == tokens.count,
              largest == tokens.count - 1 else {
            throw TokenizerError.invalidConfiguration(key: "vocab", reason: "ids must be 0..<\(tokens.count), each used once")
        }
        var vocabulary = [String](repeating: "", count: tokens.count)
        var ids: [String: Int32] = [:]
        for (token, id) in tokens {
            vocabulary[id] = token
            ids[token] = Int32(id)
        }
        func requiredId(_ key: String, _ token: String) throws -> Int32 {
            guard let id = ids[token] else { throw TokenizerError.missingSpecialToken(key: key, token: token) }
            return id
        }
        guard modelMaxLength >= 2 else { throw TokenizerError.maxLengthTooSmall(maxLength: modelMaxLength, minimum: 2) }
        self.vocabulary = vocabulary
        self.ids = ids
        self.modelMaxLength = modelMaxLength
        beginTokenId = try requiredId("bos_token", beginToken)
        endTokenId = try requiredId("eos_token", endToken)
        paddingTokenId = try requiredId("pad_token", paddingToken ?? endToken)
        unknownTokenId = try requiredId("unk_token", unknownToken ?? endToken)
        merges = try BytePairMerges(pairs, ids: ids)
        specialTokens = [(beginToken, beginTokenId), (endToken, endTokenId)]
            .map { (Array($0.0.unicodeScalars), $0.1) }.sorted { $0.scalars.count > $1.scalars.count }
    }

    /// Loads a Hugging Face model directory: `vocab.json` + `merges.txt`, else `tokenizer.json`;
    /// `tokenizer_config.json` (if present) for `model_max_length` and the special tokens.
    public init(directory: URL) throws {
        var settings: [String: Any] = [:]
        let configurationURL = directory.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: configurationURL.path) {
            settings = try Self.jsonObject(configurationURL)
        }
        func token(_ key: String) throws -> String? {
            guard let value = settings[key], !(value is NSNull) else { return nil }
            if let text = value as? String { return text }
            if let object = value as? [String: Any], let content = object["content"] as? String { return content }
            throw TokenizerError.invalidConfiguration(key: key, reason: "expected a token string")
        }
        var maxLength = 77
        if let value = settings["model_max_length"] {
            guard let number = value as? NSNumber, !(value is Bool), number.doubleValue >= 2 else {
                throw TokenizerError.invalidConfiguration(key: "model_max_length", reason: "expected an integer ≥ 2")
            }
            // transformers writes 1e30 for "no limit of its own" (the model's positions then decide).
            maxLength = number.doubleValue >= Double(1 << 20) ? 1 << 20 : number.intValue
        }
        let vocabularyURL = directory.appendingPathComponent("vocab.json")
        let (vocabulary, merges): ([String: Int], [(String, String)])
        if FileManager.default.fileExists(atPath: vocabularyURL.path) {
            guard let parsed = try Self.jsonObject(vocabularyURL) as? [String: Int] else {
                throw TokenizerError.unreadableFile(path: vocabularyURL.path, reason: "expected a JSON object of token → id")
            }
            vocabulary = parsed
            merges = try Self.readMerges(directory.appendingPathComponent("merges.txt"))
        } else {
            (vocabulary, merges) = try Self.readTokenizerJSON(directory.appendingPathComponent("tokenizer.json"))
        }
        try self.init(vocabulary: vocabulary, merges: merges, modelMaxLength: maxLength,
                      beginToken: try token("bos_token") ?? "<|startoftext|>", endToken: try token("eos_token") ?? "<|endoftext|>",
                      paddingToken: try token("pad_token"), unknownToken: try token("unk_token"))
    }

    /// True when `directory` holds CLIP tokenizer files.
    public static func isPresent(in directory: URL) -> Bool {
        let manager = FileManager.default
        return (manager.fileExists(atPath: directory.appendingPathComponent("vocab.json").path)
                && manager.fileExists(atPath: directory.appendingPathComponent("merges.txt").path))
            || manager.fileExists(atPath: directory.appendingPathComponent("tokenizer.json").path)
    }

    private static func jsonObject(_ url: URL) throws -> [String: Any] {
        do {
            guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
                throw TokenizerError.unreadableFile(path: url.path, reason: "expected a JSON object")
            }
            return object
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
    }

    /// merges.txt: one "left right" pair per line, after an optional `#version` line.
    private static func readMerges(_ url: URL) throws -> [(String, String)] {
        guard let data = try? Data(contentsOf: url), let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.unreadableFile(path: url.path, reason: "missing or not UTF-8 (CLIP needs merges.txt next to vocab.json)")
        }
        var pairs: [(String, String)] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.hasSuffix("\r") ? line.dropLast() : line
            if line.isEmpty || (number == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw TokenizerError.unreadableFile(path: url.path, reason: "line \(number + 1) is not a pair of tokens separated by one space")
            }
            pairs.append((String(parts[0]), String(parts[1])))
        }
        return pairs
    }

    /// tokenizer.json's `model.vocab` and `model.merges` (strings "a b" or pairs).
    private static func readTokenizerJSON(_ url: URL) throws -> ([String: Int], [(String, String)]) {
        let root = try jsonObject(url)
        guard let model = root["model"] as? [String: Any], let vocabulary = model["vocab"] as? [String: Int],
              let rawMerges = model["merges"] as? [Any] else {
            throw TokenizerError.unreadableFile(path: url.path, reason: "expected a BPE model with vocab and merges (or vocab.json and merges.txt)")
        }
        var merges: [(String, String)] = []
        for (index, entry) in rawMerges.enumerated() {
            if let text = entry as? String, case let parts = text.split(separator: " "), parts.count == 2 {
                merges.append((String(parts[0]), String(parts[1])))
            } else if let pair = entry as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else {
                throw TokenizerError.unreadableFile(path: url.path, reason: "model.merges[\(index)] is not a pair of tokens")
            }
        }
        return (vocabulary, merges)
    }

    // MARK: - Tokens

    /// The BPE token ids of `text`, without special tokens or truncation.
    public func tokenIds(_ text: String) -> [Int32] {
        tokenSpans(text).map { Int32($0.id) }
    }

    /// The tokens of `text` with code-point offsets, without special tokens or truncation.
    public func tokenSpans(_ text: String) -> [TokenSpan] {
        let scalars = Array(text.unicodeScalars)
        var spans: [TokenSpan] = []
        var segmentStart = 0, index = 0
        while index < scalars.count {
            let match = specialTokens.first { token in
                token.scalars.count <= scalars.count - index && token.scalars.indices.allSatisfy { token.scalars[$0] == scalars[index + $0] }
            }
            guard let match else {
                index += 1
                continue
            }
            appendSpans(of: scalars, range: segmentStart..<index, to: &spans)
            spans.append(TokenSpan(id: Int(match.id), token: vocabulary[Int(match.id)], start: index, end: index + match.scalars.count, special: false))
            index += match.scalars.count
            segmentStart = index
        }
        appendSpans(of: scalars, range: segmentStart..<scalars.count, to: &spans)
        return spans
    }

    private func appendSpans(of scalars: [Unicode.Scalar], range: Range<Int>, to spans: inout [TokenSpan]) {
        guard !range.isEmpty else { return }
        let normalized = CLIPTextNormalization.normalize(scalars, range: range)
        for word in CLIPTextNormalization.words(normalized) {
            // Byte-level symbols, each remembering the normalized code point its byte came from.
            var symbols: [String] = [], owners: [Int] = []
            for position in word {
                UTF8.encode(normalized[position].scalar) { byte in
                    symbols.append(String(BytePairMerges.byteAlphabet[Int(byte)]))
                    owners.append(position)
                }
            }
            symbols[symbols.count - 1] += "</w>"
            var pieces = symbols.map { (id: ids[$0] ?? unknownTokenId, first: 0, last: 0) }
            for index in pieces.indices { (pieces[index].first, pieces[index].last) = (owners[index], owners[index]) }
            for piece in merges.apply(pieces) {
                spans.append(TokenSpan(id: Int(piece.id), token: vocabulary[Int(piece.id)], start: normalized[piece.first].source,
                                       end: normalized[piece.last].source + 1, special: false))
            }
        }
    }

    // MARK: - Encoding

    /// `<|startoftext|> tokens <|endoftext|>` with `maxLength - 2` tokens kept per `truncation`.
    private func wrap(_ spans: [TokenSpan], maxLength: Int, truncation: TruncationMode) throws -> [TokenSpan] {
        guard maxLength >= 2 else { throw TokenizerError.maxLengthTooSmall(maxLength: maxLength, minimum: 2) }
        if truncation == .none && spans.count + 2 > maxLength {
            throw TokenizerError.sequenceTooLong(index: 0, tokens: spans.count + 2, maxLength: maxLength)
        }
        let kept = truncation == .start ? Array(spans.suffix(maxLength - 2)) : Array(spans.prefix(maxLength - 2))
        let begin = TokenSpan(id: Int(beginTokenId), token: vocabulary[Int(beginTokenId)], start: 0, end: 0, special: true)
        let end = TokenSpan(id: Int(endTokenId), token: vocabulary[Int(endTokenId)], start: 0, end: 0, special: true)
        return [begin] + kept + [end]
    }

    public func encodedSpans(_ text: String, maxLength: Int? = nil, truncation: TruncationMode = .end) throws
        -> (spans: [TokenSpan], untruncatedLength: Int) {
        let spans = tokenSpans(text)
        return (try wrap(spans, maxLength: maxLength ?? modelMaxLength, truncation: truncation), spans.count + 2)
    }

    public func encode(_ texts: [String], maxLength: Int, truncation: TruncationMode) throws -> TokenizedBatch {
        guard !texts.isEmpty else { throw TokenizerError.emptyBatch }
        var rows: [(spans: [TokenSpan], untruncated: Int)] = []
        for (index, text) in texts.enumerated() {
            let encoded = try Self.naming(index) { try encodedSpans(text, maxLength: maxLength, truncation: truncation) }
            rows.append((encoded.spans, encoded.untruncatedLength))
        }
        return batch(rows)
    }

    public func encode(tokenIds inputs: [[Int]], maxLength: Int? = nil, truncation: TruncationMode = .end) throws -> TokenizedBatch {
        guard !inputs.isEmpty else { throw TokenizerError.emptyBatch }
        var rows: [(spans: [TokenSpan], untruncated: Int)] = []
        for (index, ids) in inputs.enumerated() {
            if let position = ids.firstIndex(where: { $0 < 0 || $0 >= vocabulary.count }) {
                throw TokenizerError.tokenIdOutOfRange(index: index, position: position, id: ids[position], vocabularySize: vocabulary.count)
            }
            let spans = ids.map { TokenSpan(id: $0, token: vocabulary[$0], start: 0, end: 0, special: false) }
            rows.append((try Self.naming(index) { try wrap(spans, maxLength: maxLength ?? modelMaxLength, truncation: truncation) }, spans.count + 2))
        }
        return batch(rows)
    }

    /// Runs `encode`, putting `index` into a `sequenceTooLong` it throws.
    private static func naming<Result>(_ index: Int, _ encode: () throws -> Result) throws -> Result {
        do {
            return try encode()
        } catch TokenizerError.sequenceTooLong(_, let tokens, let maxLength) {
            throw TokenizerError.sequenceTooLong(index: index, tokens: tokens, maxLength: maxLength)
        }
    }

    /// Pads to the longest row with the padding id: `input_ids`, `attention_mask`, zero token types.
    private func batch(_ rows: [(spans: [TokenSpan], untruncated: Int)]) -> TokenizedBatch {
        let length = rows.map(\.spans.count).max()!
        var ids = [Int64](repeating: Int64(paddingTokenId), count: rows.count * length)
        var mask = [Int64](repeating: 0, count: rows.count * length)
        for (row, entry) in rows.enumerated() {
            for (column, span) in entry.spans.enumerated() {
                ids[row * length + column] = Int64(span.id)
                mask[row * length + column] = 1
            }
        }
        return TokenizedBatch(inputIds: Tensor(shape: [rows.count, length], elements: ids),
                              attentionMask: Tensor(shape: [rows.count, length], elements: mask),
                              tokenTypeIds: Tensor(zeros: [rows.count, length], dtype: .int64),
                              tokens: rows.map { $0.spans.map(\.token) }, untruncatedLengths: rows.map(\.untruncated))
    }
}
