import HTTP

/// Why a body is not acceptable JSON: what was expected, what was found, the byte offset and
/// the path to the value being read.
public struct JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The body ended while `expected` was being read.
        case unexpectedEnd(expected: String)
        /// `found` (a byte) where `expected` should be.
        case unexpectedByte(UInt8, expected: String)
        /// A number literal that JSON does not allow (leading zeros, `1.`, `.5`, `+1`, …).
        case invalidNumber(String)
        /// A string with a bad escape, an unescaped control character or invalid UTF-8.
        case invalidString(String)
        /// The same key twice in one object.
        case duplicateKey(String)
        /// Deeper nesting than the limit.
        case tooDeep(limit: Int)
        /// A document, string or numeric data over the limits.
        case tooLarge(String)
        /// Bytes after the end of the document.
        case trailingData
    }

    public var kind: Kind
    /// Byte offset in the body.
    public var offset: Int
    /// Where in the document, outermost first.
    public var path: [JSONPathComponent]

    public init(_ kind: Kind, offset: Int, path: [JSONPathComponent] = []) {
        self.kind = kind
        self.offset = offset
        self.path = path
    }

    public var description: String {
        let location = "at byte \(offset)" + (path.isEmpty ? "" : " (in \(JSONPathComponent.describe(path)))")
        switch kind {
        case .unexpectedEnd(let expected):
            return "invalid JSON \(location): the body ends where \(expected) was expected"
        case .unexpectedByte(let byte, let expected):
            return "invalid JSON \(location): expected \(expected), found \(Base64Error.describe(byte))"
        case .invalidNumber(let reason):
            return "invalid JSON number \(location): \(reason)"
        case .invalidString(let reason):
            return "invalid JSON string \(location): \(reason)"
        case .duplicateKey(let key):
            return "invalid JSON \(location): duplicate key \"\(key)\""
        case .tooDeep(let limit):
            return "JSON nested deeper than \(limit) levels \(location)"
        case .tooLarge(let what):
            return "JSON too large \(location): \(what)"
        case .trailingData:
            return "invalid JSON \(location): unexpected data after the end of the document"
        }
    }
}

extension JSONParseError: HTTPResponseError {
    public var status: HTTPStatus {
        if case .tooLarge = kind { return .contentTooLarge }
        return .badRequest
    }
    public var message: String { description }
    public var errorType: String {
        if case .tooLarge = kind { return "request_too_large" }
        return "invalid_json"
    }
}
