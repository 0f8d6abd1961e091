/// Why base64 text was rejected.
public enum Base64Error: Error, Equatable, Sendable, CustomStringConvertible {
    /// The length is not a multiple of 4 (padding is required).
    case invalidLength(Int)
    /// A byte outside the alphabet (whitespace, `-`, `_`, or `=` before the end) at `offset`.
    case invalidCharacter(offset: Int, byte: UInt8)
    /// The last group's unused bits are not zero, so the text is not the canonical encoding.
    case nonzeroTrailingBits(offset: Int)

    public var description: String {
        switch self {
        case .invalidLength(let length):
            "base64 text has length \(length), not a multiple of 4 (padding with '=' is required)"
        case .invalidCharacter(let offset, let byte):
            "invalid base64 character \(Base64Error.describe(byte)) at offset \(offset) (expected A-Z, a-z, 0-9, '+', '/', or '=' padding at the end)"
        case .nonzeroTrailingBits(let offset):
            "base64 character at offset \(offset) has nonzero unused bits before the padding (not a canonical encoding)"
        }
    }

    static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "0x" + String(byte, radix: 16, uppercase: true)
    }
}
