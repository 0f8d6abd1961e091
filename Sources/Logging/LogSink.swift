/// Where a `Logger`'s lines go: one complete JSON line per call (without the newline).
public protocol LogSink: Sendable {
    func write(line: String)
}
