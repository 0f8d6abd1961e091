/// One metric family's values at one moment, ready to be written in the text format.
public struct MetricFamilySnapshot: Sendable, Equatable {
    /// One sample line: the family name plus `suffix` (`_bucket`, `_sum`, `_count`, or empty).
    public struct Sample: Sendable, Equatable {
        public var suffix: String
        public var labels: [(name: String, value: String)]
        public var value: Double

        public init(suffix: String = "", labels: [(name: String, value: String)] = [], value: Double) {
            self.suffix = suffix
            self.labels = labels
            self.value = value
        }

        public static func == (lhs: Sample, rhs: Sample) -> Bool {
            lhs.suffix == rhs.suffix && lhs.value == rhs.value && lhs.labels.elementsEqual(rhs.labels) { $0.name == $1.name && $0.value == $1.value }
        }
    }

    public var name: String
    public var help: String
    public var type: MetricType
    public var samples: [Sample]

    public init(name: String, help: String, type: MetricType, samples: [Sample]) {
        self.name = name
        self.help = help
        self.type = type
        self.samples = samples
    }
}
