import Foundation
import Synchronization

/// A set of metric families and collectors, written out in the Prometheus text exposition format
/// 0.0.4 (`exposition()`, served at `GET /metrics` with content type `textContentType`).
public final class MetricsRegistry: Sendable {
    /// The content type of `exposition()`.
    public static let textContentType = "text/plain; version=0.0.4; charset=utf-8"

    private enum Entry: Sendable {
        case counters(MetricFamily<Counter>)
        case gauges(MetricFamily<Gauge>)
        case histograms(MetricFamily<Histogram>, upperBounds: [Double])
        case collector(any MetricsCollector)
    }

    private let entries = Mutex<[Entry]>([])
    private let names = Mutex<Set<String>>([])

    public init() {}

    // MARK: - Registration

    public func counter(_ name: String, help: String, labelNames: [String] = []) -> MetricFamily<Counter> {
        let family = MetricFamily(name: name, help: help, type: .counter, labelNames: labelNames) { Counter() }
        register(name, .counters(family))
        return family
    }

    public func gauge(_ name: String, help: String, labelNames: [String] = []) -> MetricFamily<Gauge> {
        let family = MetricFamily(name: name, help: help, type: .gauge, labelNames: labelNames) { Gauge() }
        register(name, .gauges(family))
        return family
    }

    public func histogram(_ name: String, help: String, labelNames: [String] = [], upperBounds: [Double]) -> MetricFamily<Histogram> {
        let family = MetricFamily(name: name, help: help, type: .histogram, labelNames: labelNames) { Histogram(upperBounds: upperBounds) }
        register(name, .histograms(family, upperBounds: upperBounds))
        return family
    }

    /// Adds a collector asked for its families at every scrape.
    public func register(_ collector: any MetricsCollector) {
        entries.withLock { $0.append(.collector(collector)) }
    }

    private func register(_ name: String, _ entry: Entry) {
        let inserted = names.withLock { $0.insert(name).inserted }
        precondition(inserted, "metric '\(name)' registered twice")
        entries.withLock { $0.append(entry) }
    }

    // MARK: - Reading

    /// Every family's current values, in registration order.
    public func snapshot() -> [MetricFamilySnapshot] {
        let entries = entries.withLock { $0 }
        var families: [MetricFamilySnapshot] = []
        for entry in entries {
            switch entry {
            case .counters(let family):
                families.append(MetricFamilySnapshot(name: family.name, help: family.help, type: .counter, samples: family.allChildren().map {
                    .init(labels: family.labelPairs($0.values), value: $0.child.value)
                }))
            case .gauges(let family):
                families.append(MetricFamilySnapshot(name: family.name, help: family.help, type: .gauge, samples: family.allChildren().map {
                    .init(labels: family.labelPairs($0.values), value: $0.child.value)
                }))
            case .histograms(let family, let upperBounds):
                var samples: [MetricFamilySnapshot.Sample] = []
                for (values, histogram) in family.allChildren() {
                    let labels = family.labelPairs(values)
                    let (cumulative, sum, count) = histogram.snapshot()
                    for (index, bound) in upperBounds.enumerated() {
                        samples.append(.init(suffix: "_bucket", labels: labels + [("le", Self.format(bound))], value: Double(cumulative[index])))
                    }
                    samples.append(.init(suffix: "_bucket", labels: labels + [("le", "+Inf")], value: Double(count)))
                    samples.append(.init(suffix: "_sum", labels: labels, value: sum))
                    samples.append(.init(suffix: "_count", labels: labels, value: Double(count)))
                }
                families.append(MetricFamilySnapshot(name: family.name, help: family.help, type: .histogram, samples: samples))
            case .collector(let collector):
                families += collector.collect()
            }
        }
        return families
    }

    /// The text exposition format 0.0.4: per family `# HELP`, `# TYPE`, then its samples.
    public func exposition() -> String {
        Self.exposition(snapshot())
    }

    /// Formats snapshots as text exposition format 0.0.4.
    public static func exposition(_ families: [MetricFamilySnapshot]) -> String {
        var text = ""
        for family in families {
            text += "# HELP \(family.name) \(escapeHelp(family.help))\n"
            text += "# TYPE \(family.name) \(family.type.rawValue)\n"
            for sample in family.samples {
                text += family.name + sample.suffix
                if !sample.labels.isEmpty {
                    text += "{" + sample.labels.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }.joined(separator: ",") + "}"
                }
                text += " " + format(sample.value) + "\n"
            }
        }
        return text
    }

    // MARK: - Format rules

    /// A sample value: integers without a fraction, `+Inf`, `-Inf`, `NaN`, otherwise Swift's
    /// shortest round-trip form (which Prometheus' Go parser reads).
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return value.description
    }

    /// HELP text: backslash and line feed escaped.
    static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Label values: backslash, double quote and line feed escaped.
    static func escapeLabelValue(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isNameStart(first) || first == UInt8(ascii: ":") else { return false }
        return name.utf8.allSatisfy { isNameStart($0) || $0 == UInt8(ascii: ":") || ($0 >= 48 && $0 <= 57) }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved).
    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isNameStart(first), !name.hasPrefix("__") else { return false }
        return name.utf8.allSatisfy { isNameStart($0) || ($0 >= 48 && $0 <= 57) }
    }

    private static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == UInt8(ascii: "_")
    }
}
