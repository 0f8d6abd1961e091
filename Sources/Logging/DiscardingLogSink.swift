/// Discards everything.
public struct DiscardingLogSink: LogSink {
    public init() {}
    public func write(line: String) {}
}
