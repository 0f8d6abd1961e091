/// How feature data is written in a JSON response (`encoding` in a features request).
public enum FeatureEncoding: String, Sendable, CaseIterable {
    /// JSON numbers (shortest round-trip decimals).
    case json
    /// A base64 string of the little-endian bytes of the dtype.
    case base64
}
