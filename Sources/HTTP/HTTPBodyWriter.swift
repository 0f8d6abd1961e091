/// Where a streamed response body is written. `write` suspends while the client is behind (the
/// connection's unsent bytes are above its high-water mark) and throws once the client has gone
/// or the write timeout expired, so a producer never outruns a slow reader.
public protocol HTTPBodyWriter: Sendable {
    /// Sends `bytes` as the next part of the body (one chunk when chunked; empty writes are ignored).
    func write(_ bytes: [UInt8]) async throws
}

extension HTTPBodyWriter {
    /// Sends the UTF-8 bytes of `text`.
    public func write(_ text: String) async throws { try await write(Array(text.utf8)) }
}
