import Configuration

/// How concurrent requests for one model version are batched: whether, how many requests at most
/// per forward pass, and how long the first request of a batch may wait for others.
///
/// The global `batching.*` settings apply to every model; a model's registry labels override
/// them: `batching` (`on`/`off`), `batching.max_batch_size`, `batching.max_delay_ms`.
public struct BatchingPolicy: Sendable, Equatable {
    public var isEnabled: Bool
    /// Most requests in one batch.
    public var maxBatchSize: Int
    /// Longest the first request of a batch waits (from its arrival) for others to join.
    public var maxDelay: Duration

    public init(isEnabled: Bool, maxBatchSize: Int, maxDelay: Duration) {
        self.isEnabled = isEnabled
        self.maxBatchSize = maxBatchSize
        self.maxDelay = maxDelay
    }

    /// Batching off.
    public static let disabled = BatchingPolicy(isEnabled: false, maxBatchSize: 1, maxDelay: .zero)

    /// The label keys that override the configuration per model.
    public static let enabledLabel = "batching"
    public static let maxBatchSizeLabel = "batching.max_batch_size"
    public static let maxDelayLabel = "batching.max_delay_ms"

    /// The configuration's policy with a model's label overrides applied. Labels with values that do
    /// not parse are ignored (they were free text when registered); `problems` lists them.
    public init(configuration: PeriscopeConfiguration.Batching, labels: [String: String], problems: inout [String]) {
        isEnabled = configuration.enabled
        maxBatchSize = configuration.maxBatchSize
        maxDelay = .milliseconds(configuration.maxDelayMilliseconds)
        if let text = labels[Self.enabledLabel] {
            switch text.lowercased() {
            case "on", "true", "yes", "1": isEnabled = true
            case "off", "false", "no", "0": isEnabled = false
            default: problems.append("label \(Self.enabledLabel)='\(text)' is not on or off")
            }
        }
        if let text = labels[Self.maxBatchSizeLabel] {
            if let value = Int(text), (1...1024).contains(value) { maxBatchSize = value } else {
                problems.append("label \(Self.maxBatchSizeLabel)='\(text)' is not an integer from 1 to 1024")
            }
        }
        if let text = labels[Self.maxDelayLabel] {
            if let value = Int(text), (0...10_000).contains(value) { maxDelay = .milliseconds(value) } else {
                problems.append("label \(Self.maxDelayLabel)='\(text)' is not an integer from 0 to 10000")
            }
        }
    }

    /// Whether batches of more than one request can form.
    public var batches: Bool { isEnabled && maxBatchSize > 1 }
}
