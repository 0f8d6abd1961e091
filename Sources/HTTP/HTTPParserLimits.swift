/// Size limits the request parser enforces; each violation is answered with its status and the
/// connection is closed.
public struct HTTPParserLimits: Sendable, Equatable {
    /// Longest request line (`GET /path HTTP/1.1`), in bytes; beyond: 414.
    public var maxRequestLineSize: Int
    /// Longest request line plus header section (and, separately, trailer section), in bytes; beyond: 431.
    public var maxHeadSize: Int
    /// Most header fields (and trailer fields); beyond: 431.
    public var maxHeaderCount: Int
    /// Largest request body by default, in bytes; beyond: 413. A route may raise or lower it.
    public var maxBodySize: Int
    /// Longest chunk-size line including extensions, in bytes; beyond: 400.
    public var maxChunkLineSize: Int

    public init(maxRequestLineSize: Int = 8 * 1024, maxHeadSize: Int = 32 * 1024, maxHeaderCount: Int = 100,
                maxBodySize: Int = 16 * 1024 * 1024, maxChunkLineSize: Int = 1024) {
        self.maxRequestLineSize = maxRequestLineSize
        self.maxHeadSize = maxHeadSize
        self.maxHeaderCount = maxHeaderCount
        self.maxBodySize = maxBodySize
        self.maxChunkLineSize = maxChunkLineSize
    }
}
