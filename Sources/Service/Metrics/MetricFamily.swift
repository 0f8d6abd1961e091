import Synchronization

/// A named metric with label names; one child metric per distinct label values, created on
/// first use. `labels(...)` is a dictionary lookup under a lock: callers on a hot path may keep
/// the child they get.
public final class MetricFamily<Child: AnyObject & Sendable>: Sendable {
    public let name: String
    public let help: String
    public let type: MetricType
    public let labelNames: [String]
    private let makeChild: @Sendable () -> Child
    private let children = Mutex<[[String]: Child]>([:])

    init(name: String, help: String, type: MetricType, labelNames: [String], makeChild: @escaping @Sendable () -> Child) {
        precondition(MetricsRegistry.isValidName(name), "metric name '\(name)' is not valid")
        precondition(labelNames.allSatisfy { MetricsRegistry.isValidLabelName($0) && $0 != "le" }, "invalid label names \(labelNames)")
        self.name = name
        self.help = help
        self.type = type
        self.labelNames = labelNames
        self.makeChild = makeChild
    }

    /// The child for these label values (one per label name, in order).
    public func labels(_ values: String...) -> Child { labels(values) }

    public func labels(_ values: [String]) -> Child {
        precondition(values.count == labelNames.count, "\(name): \(values.count) label values for \(labelNames)")
        return children.withLock { children in
            if let child = children[values] { return child }
            let child = makeChild()
            children[values] = child
            return child
        }
    }

    /// Every child with its label values, sorted by them (stable output).
    func allChildren() -> [(values: [String], child: Child)] {
        children.withLock { children in children.map { ($0.key, $0.value) } }
            .sorted { $0.values.lexicographicallyPrecedes($1.values) }
    }

    func labelPairs(_ values: [String]) -> [(name: String, value: String)] {
        Array(zip(labelNames, values)).map { (name: $0.0, value: $0.1) }
    }
}
