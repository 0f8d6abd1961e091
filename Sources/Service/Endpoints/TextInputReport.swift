/// What became of each text of a request: the tokens it was run as (special tokens included),
/// whether truncation cut it, and optionally the token strings. Every text endpoint answers with
/// it, so no input is ever cut silently.
public struct TextInputReport: Sendable, Equatable {
    /// Tokens each input was run as.
    public var tokenCounts: [Int]
    /// Tokens each input had before truncation.
    public var untruncatedCounts: [Int]
    /// Each input's token strings, when the request asked for them (`return_tokens`).
    public var tokens: [[String]]?

    public init(tokenCounts: [Int], untruncatedCounts: [Int], tokens: [[String]]? = nil) {
        self.tokenCounts = tokenCounts
        self.untruncatedCounts = untruncatedCounts
        self.tokens = tokens
    }

    /// Whether each input lost tokens.
    public var truncated: [Bool] { zip(tokenCounts, untruncatedCounts).map { $0 < $1 } }

    /// `[{"tokens": n, "truncated": bool, "token_strings": [...]?}, …]`.
    func append(to buffer: JSONOutputBuffer) {
        buffer.append(UInt8(ascii: "["))
        for index in tokenCounts.indices {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(raw: #"{"tokens":"#)
            buffer.append(integer: tokenCounts[index])
            buffer.append(raw: #","truncated":"#)
            buffer.append(raw: tokenCounts[index] < untruncatedCounts[index] ? "true" : "false")
            if let tokens {
                buffer.append(raw: #","token_strings":["#)
                for (position, token) in tokens[index].enumerated() {
                    if position > 0 { buffer.append(UInt8(ascii: ",")) }
                    buffer.append(string: token)
                }
                buffer.append(UInt8(ascii: "]"))
            }
            buffer.append(UInt8(ascii: "}"))
        }
        buffer.append(UInt8(ascii: "]"))
    }
}
