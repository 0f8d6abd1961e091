import Synchronization

/// Keeps lines in memory, for tests that check what was logged.
public final class CapturingLogSink: LogSink {
    private let storage = Mutex<[String]>([])

    public init() {}

    public func write(line: String) {
        storage.withLock { $0.append(line) }
    }

    /// The lines written so far, in order.
    public var lines: [String] { storage.withLock { $0 } }
}
