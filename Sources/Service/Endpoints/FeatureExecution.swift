import HTTP
import Models
import NN
import Tensors

/// The path every feature-producing request takes after its body is parsed (native features and
/// V2 inference alike): plan the layers against the catalog, check the response size from the
/// predicted shapes, queue the job, await it, check the deadline and the actual size.
struct FeatureExecution {
    let context: ServiceContext

    /// The bytes a response with these (post-processed) shapes may take at most.
    typealias SizeBound = ([(name: String, shape: [Int])]) -> Int

    /// Runs `selectors` on `inputs` and returns the post-processed features, or throws the
    /// 4xx/5xx that the request gets.
    func run(model: ServedModel, inputs: PreparedInputs, selectors: [LayerSelector], postProcessing: FeaturePostProcessing,
             deadline: RequestDeadline, disconnection: ClientDisconnection?, sizeBound: SizeBound) async throws -> FeatureOutcome {
        let plan = try await FeaturePlan.make(model: model, inputs: inputs, selectors: selectors, pool: context.pool,
                                              deadline: deadline, disconnection: disconnection)
        var predicted: [(name: String, shape: [Int])] = []
        for (name, shape) in plan.shapes {
            guard let shape else { continue }
            predicted.append((name, try postProcessing.outputShape(for: shape, layer: name)))
        }
        try checkSize(sizeBound(predicted))
        var work = FeatureWork(model: model, inputs: inputs.tensors, rows: inputs.rows, request: plan.request,
                               postProcessing: postProcessing, attentionMask: inputs.attentionMask)
        // Text whose layers are all pooled over tokens (embeddings) batches across lengths.
        if inputs.text != nil, postProcessing.pool != .none, let length = inputs.tensors["input_ids"]?.shape.last,
           plan.shapes.allSatisfy({ $0.shape.map { $0.count == 2 || ($0.count == 3 && $0[1] == length) } ?? false }) {
            work.enableTokenBatching(sequenceLength: length)
        }
        let outcome = try await context.pool.extractFeatures(work, deadline: deadline.instant, timeoutMilliseconds: deadline.milliseconds,
                                                            disconnection: disconnection)
        if deadline.hasPassed { throw ServiceError.deadlineExceeded(milliseconds: deadline.milliseconds) }
        // Exact now; catches what could not be predicted (`:input` captures).
        try checkSize(sizeBound(outcome.features.map { ($0.name, $0.tensor.shape) }))
        return outcome
    }

    /// Refuses a response of `bytes` over `max_response_bytes` (413).
    func checkSize(_ bytes: Int) throws(ServiceError) {
        let limit = context.configuration.maxResponseBytes
        if bytes > limit { throw .responseTooLarge(bytes: bytes, limit: limit) }
    }
}
