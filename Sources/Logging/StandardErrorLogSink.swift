#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes each line to standard error with one `write(2)`, so concurrent lines never interleave.
public struct StandardErrorLogSink: LogSink {
    public init() {}

    public func write(line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                // A signal must not cut the line short: retry, as HTTP's `syscall` helper does.
                if written == -1 && errno == EINTR { continue }
                // A full or broken stderr must not stall or kill the server: drop the rest of the line.
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}
