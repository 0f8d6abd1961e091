/// Why a configuration could not be loaded; each case names the key (as written in
/// `periscope.json`, dotted for nested ones) and where the bad value came from.
public enum ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A key no setting has. `suggestion` is the closest known key, if one is close.
    case unknownKey(key: String, source: String, suggestion: String?)
    /// A value of the wrong type or out of range; `expected` describes the valid form.
    case invalidValue(key: String, value: String, expected: String, source: String)
    /// The configuration file could not be read.
    case unreadableFile(path: String, reason: String)
    /// The configuration file is not a JSON object.
    case invalidJSON(path: String, reason: String)

    public var description: String {
        switch self {
        case .unknownKey(let key, let source, let suggestion):
            "unknown configuration key '\(key)' in \(source)" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "") + "; see docs/configuration.md"
        case .invalidValue(let key, let value, let expected, let source):
            "configuration key '\(key)' in \(source): '\(value)' is not valid, expected \(expected)"
        case .unreadableFile(let path, let reason): "cannot read configuration file \(path): \(reason)"
        case .invalidJSON(let path, let reason): "configuration file \(path) is not a JSON object: \(reason)"
        }
    }
}
