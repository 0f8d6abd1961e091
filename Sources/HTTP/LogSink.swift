import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where a `Logger`'s lines go: one complete JSON line per call (without the newline).
public protocol LogSink: Sendable {
    func write(line: String)
}

/// Writes each line to standard error with one `write(2)`, so concurrent lines never interleave.
public struct StandardErrorLogSink: LogSink {
    public init() {}

    public func write(line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                // A full or broken stderr must not stall or kill the server: drop the rest of the line.
                guard let written = try? syscall("write", { Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset) }),
                      written > 0 else { return }
                offset += written
            }
        }
    }
}

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

/// Discards everything.
public struct DiscardingLogSink: LogSink {
    public init() {}
    public func write(line: String) {}
}
