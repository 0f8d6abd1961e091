import Foundation

/// One configuration key: its type, its default as written in the file, what it means, and how
/// it is stored into a `PeriscopeConfiguration`.
public struct ConfigurationSetting: Sendable {
    /// The value types settings have.
    public enum Kind: Sendable {
        /// Any string.
        case string
        /// A string or `null` (the documented default applies).
        case optionalString
        /// An integer in a range.
        case integer(ClosedRange<Int>)
        /// `true` or `false`.
        case boolean
        /// A list of strings (comma-separated in the environment and on the command line).
        case stringList
        /// One of a fixed set of words.
        case choice([String])

        /// What a valid value looks like, for error messages and docs.
        public var expected: String {
            switch self {
            case .string: "a string"
            case .optionalString: "a string or null"
            case .integer(let range) where range.upperBound == Int.max: "an integer ≥ \(range.lowerBound)"
            case .integer(let range): "an integer from \(range.lowerBound) to \(range.upperBound)"
            case .boolean: "true or false"
            case .stringList: "a list of strings"
            case .choice(let words): "one of " + words.joined(separator: ", ")
            }
        }
    }

    /// A parsed value.
    enum Value: Equatable, Sendable {
        case string(String?)
        case integer(Int)
        case boolean(Bool)
        case strings([String])
    }

    /// The key, dotted for nested ones (`http.max_body_bytes`).
    public let key: String
    /// The value type.
    public let kind: Kind
    /// The default, as it appears in `Config/periscope.json` (JSON).
    public let defaultValue: String
    /// One line on what the setting does.
    public let summary: String
    let store: @Sendable (inout PeriscopeConfiguration, Value) -> Void

    /// `PERISCOPE_` and the key in upper case with `.` as `_`.
    public var environmentVariable: String { "PERISCOPE_" + key.uppercased().replacingOccurrences(of: ".", with: "_") }

    // MARK: - Parsing

    /// Parses a value from the configuration file.
    func parse(_ json: ConfigurationValue, source: String) throws(ConfigurationError) -> Value {
        func invalid() -> ConfigurationError { .invalidValue(key: key, value: json.text, expected: kind.expected, source: source) }
        switch (kind, json) {
        case (.string, .string(let text)): return .string(text)
        case (.optionalString, .string(let text)): return .string(text.isEmpty ? nil : text)
        case (.optionalString, .null): return .string(nil)
        case (.integer(let range), .integer(let value)):
            guard range.contains(value) else { throw invalid() }
            return .integer(value)
        case (.integer(let range), .number(let value)):
            guard let exact = Int(exactly: value), range.contains(exact) else { throw invalid() }
            return .integer(exact)
        case (.boolean, .boolean(let value)): return .boolean(value)
        case (.stringList, .array(let values)):
            var strings: [String] = []
            for value in values {
                guard case .string(let text) = value else { throw invalid() }
                strings.append(text)
            }
            return .strings(strings)
        case (.choice(let words), .string(let text)):
            guard words.contains(text) else { throw invalid() }
            return .string(text)
        default:
            throw invalid()
        }
    }

    /// Parses a value from an environment variable or a command-line flag.
    func parse(text: String, source: String) throws(ConfigurationError) -> Value {
        func invalid() -> ConfigurationError { .invalidValue(key: key, value: text, expected: kind.expected, source: source) }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch kind {
        case .string: return .string(text)
        case .optionalString: return .string(trimmed.isEmpty || trimmed == "null" ? nil : text)
        case .integer(let range):
            let digits = trimmed.replacingOccurrences(of: "_", with: "")
            guard let value = Int(digits), range.contains(value) else { throw invalid() }
            return .integer(value)
        case .boolean:
            switch trimmed.lowercased() {
            case "true", "1", "yes", "on": return .boolean(true)
            case "false", "0", "no", "off": return .boolean(false)
            default: throw invalid()
            }
        case .stringList:
            if trimmed.hasPrefix("[") {
                guard let data = trimmed.data(using: .utf8), let value = try? JSONDecoder().decode(ConfigurationValue.self, from: data) else { throw invalid() }
                return try parse(value, source: source)
            }
            return .strings(trimmed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        case .choice(let words):
            guard words.contains(trimmed.lowercased()) else { throw invalid() }
            return .string(trimmed.lowercased())
        }
    }
}

extension ConfigurationSetting.Value {
    var text: String? { if case .string(let text) = self { return text }; return nil }
    var integer: Int { if case .integer(let value) = self { return value }; preconditionFailure("not an integer: \(self)") }
    var boolean: Bool { if case .boolean(let value) = self { return value }; preconditionFailure("not a boolean: \(self)") }
    var strings: [String] { if case .strings(let value) = self { return value }; preconditionFailure("not a list: \(self)") }
}
