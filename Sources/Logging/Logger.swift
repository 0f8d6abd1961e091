#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A structured logger writing one JSON object per line:
/// `{"ts":"2026-01-02T03:04:05.678Z","level":"info","logger":"http","msg":"request",<fields>}`.
///
/// Libraries never create their own: a logger is passed in (the server, middleware, the service),
/// so tests can inject one with a `CapturingLogSink`.
public struct Logger: Sendable {
    /// Names the component (`"http"`, `"service"`); written as `logger`.
    public var label: String
    /// Lines below this level are dropped.
    public var minimumLevel: LogLevel
    /// Where lines go.
    public let sink: any LogSink

    public init(label: String, minimumLevel: LogLevel = .info, sink: any LogSink = StandardErrorLogSink()) {
        self.label = label
        self.minimumLevel = minimumLevel
        self.sink = sink
    }

    /// A logger that writes nothing.
    public static let disabled = Logger(label: "disabled", minimumLevel: .error, sink: DiscardingLogSink())

    /// Whether a line at `level` would be written.
    public func isEnabled(_ level: LogLevel) -> Bool { level >= minimumLevel && !(sink is DiscardingLogSink) }

    /// Writes one line with `fields` after the fixed keys, in the given order.
    public func log(_ level: LogLevel, _ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        guard isEnabled(level) else { return }
        log(level, message, fields: fields.map { ($0.key, $0.value) })
    }

    /// Writes one line with `fields` (a list, for fields assembled at run time).
    public func log(_ level: LogLevel, _ message: String, fields: [(String, LogValue)]) {
        guard isEnabled(level) else { return }
        var line = "{\"ts\":\""
        line += Self.timestamp()
        line += "\",\"level\":\""
        line += level.description
        line += "\",\"logger\":"
        appendJSONString(label, to: &line)
        line += ",\"msg\":"
        appendJSONString(message, to: &line)
        for (key, value) in fields {
            line += ","
            appendJSONString(key, to: &line)
            line += ":"
            value.appendJSON(to: &line)
        }
        line += "}"
        sink.write(line: line)
    }

    public func debug(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.warning, message, fields) }
    public func error(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.error, message, fields) }

    /// ISO 8601 UTC with milliseconds, from the real-time clock.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }
}
