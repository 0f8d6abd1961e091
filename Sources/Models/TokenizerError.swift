/// Why a tokenizer could not be loaded or could not encode a request.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file could not be read or is not valid UTF-8 / JSON.
    case unreadableFile(path: String, reason: String)
    /// A `tokenizer_config.json` value has the wrong type or range; `key` is its JSON key.
    case invalidConfiguration(key: String, reason: String)
    /// A special token named by the configuration (`key`, e.g. `cls_token`) is not in the vocabulary.
    case missingSpecialToken(key: String, token: String)
    /// `max_length` cannot even hold the special tokens ([CLS] and [SEP]).
    case maxLengthTooSmall(maxLength: Int, minimum: Int)
    /// Text pairs were given, but not one per text.
    case pairCountMismatch(texts: Int, pairs: Int)
    /// No texts to encode.
    case emptyBatch
    /// Input `index` needs `tokens` tokens (special tokens included), more than `maxLength`, and
    /// truncation is `none`.
    case sequenceTooLong(index: Int, tokens: Int, maxLength: Int)
    /// Token id `id` (element `position` of input `index`) is outside the vocabulary.
    case tokenIdOutOfRange(index: Int, position: Int, id: Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .invalidConfiguration(let key, let reason):
            return "invalid tokenizer setting \"\(key)\": \(reason)"
        case .missingSpecialToken(let key, let token):
            return "\(key) \"\(token)\" is not in the vocabulary"
        case .maxLengthTooSmall(let maxLength, let minimum):
            return "max_length \(maxLength) is too small: the special tokens alone need \(minimum)"
        case .pairCountMismatch(let texts, let pairs):
            return "\(texts) texts but \(pairs) text pairs; give one pair per text"
        case .emptyBatch:
            return "no texts to tokenize"
        case .sequenceTooLong(let index, let tokens, let maxLength):
            return "input \(index) has \(tokens) tokens, more than the model's maximum of \(maxLength), and truncation is none (send truncate \"end\" or \"start\" to cut it)"
        case .tokenIdOutOfRange(let index, let position, let id, let vocabularySize):
            return "input \(index), token \(position): id \(id) is outside the vocabulary 0..<\(vocabularySize)"
        }
    }
}
