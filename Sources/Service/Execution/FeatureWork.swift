import Models
import Tensors

/// A validated feature-extraction job: everything a worker needs to run it, alone or batched with
/// compatible jobs (same model instance and the same `signature`).
public struct FeatureWork: Sendable {
    public var model: ServedModel
    /// The input tensors, already converted to the dtypes the model takes and checked.
    public var inputs: [String: Tensor]
    /// Batch rows (the inputs' first dimension).
    public var rows: Int
    /// The layers to capture (resolved against the model's catalog) and the aliases to answer with.
    public var request: ResolvedLayers
    /// What to do to each captured tensor (identity for V2).
    public var postProcessing: FeaturePostProcessing
    /// Text models: the attention mask, for token pooling.
    public var attentionMask: Tensor?
    /// `ServedModel.signature(of: inputs)`: jobs batch only with the same signature.
    public var signature: String
    /// Set for a text job whose every layer is pooled over tokens (or already one vector per row):
    /// its sequence length. Such jobs batch with others of other lengths, padded to the longest
    /// (padding is masked out of attention and pooling), within the token budget.
    public private(set) var tokenBatching: Int?

    public init(model: ServedModel, inputs: [String: Tensor], rows: Int, request: ResolvedLayers,
                postProcessing: FeaturePostProcessing = FeaturePostProcessing(), attentionMask: Tensor? = nil) {
        self.model = model
        self.inputs = inputs
        self.rows = rows
        self.request = request
        self.postProcessing = postProcessing
        self.attentionMask = attentionMask
        self.signature = ServedModel.signature(of: inputs)
    }

    /// Lets this job batch with text jobs of other lengths (`tokenBatching`): its signature becomes
    /// the input names alone.
    mutating func enableTokenBatching(sequenceLength: Int) {
        tokenBatching = sequenceLength
        signature = "tokens:" + inputs.keys.sorted().joined(separator: ";")
    }

    /// The names this job's answer holds: captured names (without those only captured for an
    /// alias) and the aliases.
    var answerNames: Set<String> {
        Set(request.selection.names).subtracting(request.droppedNames).union(request.aliases.map(\.alias))
    }
}

/// What a feature job produced: the post-processed tensors of its layers, in capture order, and
/// where its time went.
public struct FeatureOutcome: Sendable {
    public var features: [(name: String, tensor: Tensor)]
    /// From enqueueing to the start of the forward pass.
    public var queueSeconds: Double
    /// The forward pass (of the whole batch).
    public var computeSeconds: Double
    /// Splitting the batch and post-processing this job's tensors.
    public var outputSeconds: Double
    /// Requests in the forward pass that served this one.
    public var batchSize: Int
    /// Rows in that forward pass.
    public var batchRows: Int
}
