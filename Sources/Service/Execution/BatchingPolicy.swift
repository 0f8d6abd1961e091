import Configuration

/// How concurrent requests for one model version are batched: whether, how many requests at most
/// per forward pass, and how long the first request of a batch may wait for others.
///
/// The global `batching.*` settings apply to every model; a model's registry labels override
/// them: `batching` (`on`/`off`; `off` also stops text batching), `batching.max_batch_size`,
/// `batching.max_delay_ms`.
///
/// Text batching (`batching.text_enabled`, on by default) is separate: jobs of token-pooled text
/// layers (what embeddings ask for) of different lengths are padded to the longest in the batch,
/// whose rows × length stay within `max_batch_tokens`, grouping similar lengths (at least
/// `minimumTextBatchFill` of the batch's tokens are the jobs' own).
public struct BatchingPolicy: Sendable, Equatable {
    public var isEnabled: Bool
    /// Most requests in one batch.
    public var maxBatchSize: Int
    /// Longest the first request of a batch waits (from its arrival) for others to join.
    public var maxDelay: Duration
    /// Whether token-pooled text jobs (`FeatureWork.tokenBatching`) batch, padded to a common length.
    public var isTextEnabled: Bool
    /// Most tokens (rows × padded length) in one text batch.
    public var maxBatchTokens: Int
    /// Longest the first text request of a batch waits for others.
    public var textMaxDelay: Duration

    public init(isEnabled: Bool, maxBatchSize: Int, maxDelay: Duration, isTextEnabled: Bool = false, maxBatchTokens: Int = 8192,
                textMaxDelay: Duration = .zero) {
        self.isEnabled = isEnabled
        self.maxBatchSize = maxBatchSize
        self.maxDelay = maxDelay
        self.isTextEnabled = isTextEnabled
        self.maxBatchTokens = maxBatchTokens
        self.textMaxDelay = textMaxDelay
    }

    /// Batching off.
    public static let disabled = BatchingPolicy(isEnabled: false, maxBatchSize: 1, maxDelay: .zero)

    /// Most requests in one text batch (the token budget is the real bound).
    public static let maxTextBatchRequests = 256

    /// Padded text batches keep at least this share of their tokens real (length grouping).
    public static let minimumTextBatchFill = 0.75

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
        isTextEnabled = configuration.textEnabled
        maxBatchTokens = configuration.maxBatchTokens
        textMaxDelay = .milliseconds(configuration.textMaxDelayMilliseconds)
        if let text = labels[Self.enabledLabel] {
            // The per-model switch governs both kinds of batching.
            switch text.lowercased() {
            case "on", "true", "yes", "1": isEnabled = true
            case "off", "false", "no", "0": isEnabled = false; isTextEnabled = false
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
