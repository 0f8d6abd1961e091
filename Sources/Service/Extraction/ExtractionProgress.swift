import Foundation

/// Progress of a long extraction on standard error: on a terminal a bar redrawn in place (items,
/// items/s, ETA, errors so far), otherwise a line every `interval` seconds, or nothing (`--quiet`).
/// Rates count only the items of this run, so a resumed run does not claim the earlier run's work.
public final class ExtractionProgress {
    public enum Style: Equatable, Sendable {
        case bar
        case lines(interval: Double)
        case quiet
    }

    let style: Style
    public let total: Int
    private let startedAt: ContinuousClock.Instant
    private let doneAtStart: Int
    /// Items counted so far (earlier runs' included), and the skipped ones among them.
    public private(set) var done: Int
    public private(set) var errors: Int
    private var lastReport: ContinuousClock.Instant

    /// Starts counting `total` items of which `done` (with `errors` among them) are already done.
    init(style: Style, total: Int, done: Int, errors: Int) {
        self.style = style
        self.total = total
        self.doneAtStart = done
        self.done = done
        self.errors = errors
        let now = ContinuousClock.now
        startedAt = now
        lastReport = now
    }

    /// The bar on a terminal, lines every `interval` seconds otherwise; nothing when `quiet`.
    public static func style(quiet: Bool, interval: Double) -> Style {
        if quiet { return .quiet }
        return isatty(STDERR_FILENO) != 0 ? .bar : .lines(interval: interval)
    }

    /// Counts `items` more items, `errors` of them skipped, and reports when it is time.
    func advance(items: Int, errors: Int) {
        done += items
        self.errors += errors
        let now = ContinuousClock.now
        switch style {
        case .quiet: return
        case .bar where now - lastReport >= .milliseconds(200):
            write("\r" + status(bar: true) + "\u{1B}[K")
        case .lines(let interval) where now - lastReport >= .seconds(interval):
            write("extract: " + status(bar: false) + "\n")
        default: return
        }
        lastReport = now
    }

    /// Ends the report (the bar's last state and a newline).
    func finish() {
        if style == .bar { write("\r" + status(bar: true) + "\u{1B}[K\n") }
    }

    /// Seconds since the start.
    public var elapsedSeconds: Double {
        let elapsed = ContinuousClock.now - startedAt
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    /// Items per second in this run.
    public var itemsPerSecond: Double {
        let seconds = elapsedSeconds
        return seconds > 0 ? Double(done - doneAtStart) / seconds : 0
    }

    /// `[#####.....]  43% 4300/10000 items, 85.2 items/s, ETA 1m07s, 3 errors`.
    func status(bar: Bool) -> String {
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        var text = ""
        if bar {
            let width = 24, filled = min(width, Int(fraction * Double(width)))
            text = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
        }
        text += String(format: "%3ld%% %ld/%ld items, %.1f items/s", Int(fraction * 100), done, total, itemsPerSecond)
        let rate = itemsPerSecond
        text += rate > 0 ? ", ETA " + Self.duration(Double(total - done) / rate) : ", ETA --"
        return text + ", \(errors) error" + (errors == 1 ? "" : "s")
    }

    /// `45s`, `3m07s`, `2h05m`.
    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%ldm%02lds", whole / 60, whole % 60) }
        return String(format: "%ldh%02ldm", whole / 3600, whole % 3600 / 60)
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
