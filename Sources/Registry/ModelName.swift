/// Model-name validation: `[a-z0-9][a-z0-9._-]{0,63}`, so a name is safe as a directory name,
/// in a URL path segment and in a metric label without escaping.
public enum ModelName {
    /// The longest allowed name.
    public static let maximumLength = 64

    /// True when `name` matches `[a-z0-9][a-z0-9._-]{0,63}`.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= maximumLength, isLowerAlphanumeric(first) else { return false }
        return bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Throws `RegistryError.invalidName` unless `name` is valid.
    public static func validate(_ name: String) throws(RegistryError) {
        guard isValid(name) else { throw .invalidName(name) }
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
