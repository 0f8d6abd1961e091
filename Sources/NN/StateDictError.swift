/// Why a state dict could not be loaded into a module tree. Nothing is modified when loading fails.
public enum StateDictError: Error, Equatable, CustomStringConvertible {
    /// Strict loading: keys the module expects but the state dict lacks, and keys it has that the
    /// module does not know.
    case keyMismatch(missing: [String], unexpected: [String])
    /// The tensor under `key` does not have the parameter's or buffer's shape.
    case shapeMismatch(key: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .keyMismatch(missing, unexpected):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing keys: " + missing.joined(separator: ", ")) }
            if !unexpected.isEmpty { parts.append("unexpected keys: " + unexpected.joined(separator: ", ")) }
            return "state dict does not match the model (" + parts.joined(separator: "; ") + ")"
        case let .shapeMismatch(key, expected, found):
            return "state dict: shape mismatch for \(key): the model has \(expected), the state dict has \(found)"
        }
    }
}
