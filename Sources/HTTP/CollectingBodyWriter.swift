import Synchronization

/// Collects a streamed body in memory (`HTTPResponse.collectBody()`).
final class CollectingBodyWriter: HTTPBodyWriter {
    private let storage = Mutex<[UInt8]>([])

    func write(_ bytes: [UInt8]) async throws {
        storage.withLock { $0 += bytes }
    }

    var bytes: [UInt8] { storage.withLock { $0 } }
}
