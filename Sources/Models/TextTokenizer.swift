/// What the service needs from a model's tokenizer (WordPiece for BERT, byte-level BPE for CLIP):
/// batches of texts or pre-tokenized ids as model inputs, truncated per `TruncationMode`, and the
/// tokens of one text with their code-point offsets for `POST /tokenize`.
public protocol TextTokenizer: Sendable {
    /// The tokenizer's own limit (`model_max_length`), special tokens included.
    var modelMaxLength: Int { get }
    /// The id padding positions get.
    var paddingTokenId: Int32 { get }
    /// Ids are 0..<vocabularySize.
    var vocabularySize: Int { get }

    /// Texts with their special tokens, each cut to `maxLength` tokens per `truncation` (`none`
    /// throws `TokenizerError.sequenceTooLong` naming the text), padded to the longest.
    func encode(_ texts: [String], maxLength: Int, truncation: TruncationMode) throws -> TokenizedBatch

    /// Pre-tokenized inputs (ids without special tokens) wrapped and truncated like texts; ids outside
    /// the vocabulary throw `tokenIdOutOfRange`.
    func encode(tokenIds: [[Int]], maxLength: Int?, truncation: TruncationMode) throws -> TokenizedBatch

    /// The token ids of `text` without special tokens or truncation (what `encode(tokenIds:)` takes).
    func tokenIds(_ text: String) -> [Int32]

    /// The tokens of `text` without special tokens or truncation, with code-point offsets.
    func tokenSpans(_ text: String) -> [TokenSpan]

    /// `tokenSpans(text)` with the special tokens, truncated to `maxLength` per `truncation`
    /// (exactly what the model sees), and the untruncated token count.
    func encodedSpans(_ text: String, maxLength: Int?, truncation: TruncationMode) throws -> (spans: [TokenSpan], untruncatedLength: Int)
}

extension WordPieceTokenizer: TextTokenizer {
    public var modelMaxLength: Int { configuration.modelMaxLength }
    public var vocabularySize: Int { vocabulary.count }

    public func encode(_ texts: [String], maxLength: Int, truncation: TruncationMode) throws -> TokenizedBatch {
        try self(texts, maxLength: maxLength, truncation: truncation)
    }
}
