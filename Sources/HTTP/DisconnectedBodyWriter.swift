/// The writer a streamed body gets when its client has already gone: every write throws
/// `HTTPError.clientDisconnected`, so the producer ends (running its `defer`s) without encoding
/// more than its first part.
struct DisconnectedBodyWriter: HTTPBodyWriter {
    func write(_ bytes: [UInt8]) async throws {
        throw HTTPError.clientDisconnected
    }
}
