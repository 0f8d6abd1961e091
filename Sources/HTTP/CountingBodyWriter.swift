import Synchronization

/// A body writer that passes every write on and counts the bytes: what the access log and the
/// response-size metrics report for a streamed body (the bytes actually produced).
public final class CountingBodyWriter: HTTPBodyWriter {
    private let inner: any HTTPBodyWriter
    private let total = Atomic<Int>(0)

    public init(inner: any HTTPBodyWriter) { self.inner = inner }

    public func write(_ bytes: [UInt8]) async throws {
        try await inner.write(bytes)
        total.add(bytes.count, ordering: .relaxed)
    }

    /// The bytes written so far.
    public var count: Int { total.load(ordering: .relaxed) }
}
