/// Bounds on what the JSON parser accepts, so hostile bodies cannot exhaust the stack or memory.
public struct JSONParserLimits: Sendable, Equatable {
    /// Nesting depth of arrays and objects (the document itself is depth 1).
    public var maximumDepth: Int
    /// Bytes in the document.
    public var maximumBytes: Int
    /// Numbers in all numeric arrays together (each is stored in 16 bytes until converted, so the
    /// default 16 Mi bounds that at 256 MiB; a 64×3×224×224 batch is 9.6 M numbers).
    public var maximumNumberCount: Int
    /// Bytes in one string (a base64 image is one string).
    public var maximumStringBytes: Int

    public init(maximumDepth: Int = 64, maximumBytes: Int = 256 << 20, maximumNumberCount: Int = 16 << 20,
                maximumStringBytes: Int = 256 << 20) {
        self.maximumDepth = maximumDepth
        self.maximumBytes = maximumBytes
        self.maximumNumberCount = maximumNumberCount
        self.maximumStringBytes = maximumStringBytes
    }
}
