/// One token of a text with where it came from: its id and string, and the code-point offsets
/// `start..<end` into the original text that it covers (as Hugging Face fast tokenizers report them
/// in `offset_mapping`; `(0, 0)` for an added [CLS]/[SEP]). `special` marks the special tokens the
/// encoding added (`special_tokens_mask`).
public struct TokenSpan: Sendable, Equatable {
    public var id: Int
    public var token: String
    public var start: Int
    public var end: Int
    public var special: Bool

    public init(id: Int, token: String, start: Int, end: Int, special: Bool) {
        self.id = id
        self.token = token
        self.start = start
        self.end = end
        self.special = special
    }
}
