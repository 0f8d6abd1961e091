/// What happens to a text longer than the model's maximum sequence length (special tokens
/// included): `end` keeps its first tokens, `start` keeps its last ones, `none` refuses it
/// (`TokenizerError.sequenceTooLong`). The special tokens ([CLS], [SEP]) are always kept.
public enum TruncationMode: String, Sendable, Codable, CaseIterable {
    case end
    case start
    case none
}
