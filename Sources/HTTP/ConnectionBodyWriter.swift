/// The `HTTPBodyWriter` a streamed response body is written to: each write is queued on the
/// connection from the producer's thread and suspends until the connection's unsent bytes allow more.
struct ConnectionBodyWriter: HTTPBodyWriter {
    let connection: HTTPConnection

    func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            connection.writeBodyChunk(bytes, continuation: continuation)
        }
    }
}
