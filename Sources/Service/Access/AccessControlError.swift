/// Why the tokens file cannot be used: the server refuses to start rather than run with an
/// access policy other than the one configured. Messages name the file and the entry, never a token.
public enum AccessControlError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadableFile(path: String, reason: String)
    case invalidFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason): "auth_tokens_file \(path): cannot be read (\(reason))"
        case .invalidFile(let path, let reason):
            "auth_tokens_file \(path): \(reason); expected {\"tokens\": [{\"token\": \"…\", \"scopes\": [\"admin\", \"infer\"]}]}"
        }
    }
}
