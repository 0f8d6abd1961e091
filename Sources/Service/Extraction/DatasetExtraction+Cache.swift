import Models
import NN
import Tensors

// MARK: - Extraction through the feature cache

extension DatasetExtraction {
    /// The cache-aware extraction of this run, or nil when it does not use the cache (none given,
    /// no model digest, or post-processing the cache does not keep).
    ///
    /// The order a capture produces its outputs in (forward order, then aliases) is learnt once
    /// from a batch-1 pass on the model's default input, so that a batch answered wholly from the
    /// cache lists its tensors exactly as a computed one would: a shard's tensor order — and so its
    /// bytes — does not depend on which of its batches were cached.
    func cachedExtraction(request: FeatureRequest, replica: InferenceModel) throws -> CachedBatchExtraction? {
        guard let cache, let cacheModelDigest, let processing = FeatureCacheKeys.processing(postProcessing) else { return nil }
        let names = try extract(ServedModel.defaultInputs(for: model), request: request, replica: replica).map(\.name)
        return CachedBatchExtraction(cache: cache, modelName: plan.model.name, modelDigest: cacheModelDigest, processing: processing, names: names)
    }
}

/// A dataset extraction's batches through the feature cache: each batch's rows are looked up; the
/// rows not (wholly) cached are computed together — one smaller batch, sliced from the original so
/// texts keep the batch's padding — and stored; the answer stacks cached and computed rows in the
/// batch's order. A batch with every row cached runs no forward pass.
struct CachedBatchExtraction {
    let cache: FeatureCache
    let modelName: String
    let modelDigest: String
    let processing: String
    /// The output names in capture order.
    let names: [String]

    /// The batch's features and how many of its rows were computed. `compute` runs a forward pass
    /// (with post-processing) on inputs of some of the batch's rows.
    func extract(_ batch: DatasetBatch, compute: ([String: Tensor]) throws -> [(name: String, tensor: Tensor)])
        throws -> (features: [(name: String, tensor: Tensor)], computedRows: Int) {
        let rowCount = batch.positions.count
        guard let digests = FeatureCacheKeys.inputDigests(batch.inputs, rows: rowCount) else {
            return (try compute(batch.inputs), rowCount)
        }
        let found = cache.lookup(model: modelName, modelDigest: modelDigest, inputDigests: digests, layers: names, processing: processing)
        let missing = found.indices.filter { found[$0] == nil }
        if missing.isEmpty {
            return (names.map { name in (name, Self.stacked(found.map { $0![name]! })) }, 0)
        }
        if missing.count == rowCount {
            let features = try compute(batch.inputs)
            cache.store(modelDigest: modelDigest, inputDigests: digests, processing: processing, features: features)
            return (features, rowCount)
        }
        let inputs = batch.inputs.mapValues { tensor in Self.stacked(missing.map { tensor.sliced(axis: 0, $0..<($0 + 1)) }) }
        let computed = try compute(inputs)
        cache.store(modelDigest: modelDigest, inputDigests: missing.map { digests[$0] }, processing: processing, features: computed)
        var computedRow: [Int: Int] = [:]
        for (offset, row) in missing.enumerated() { computedRow[row] = offset }
        let features = computed.map { name, tensor -> (name: String, tensor: Tensor) in
            (name, Self.stacked((0..<rowCount).map { row in
                if let offset = computedRow[row] { return tensor.sliced(axis: 0, offset..<(offset + 1)) }
                return found[row]![name]!
            }))
        }
        return (features, missing.count)
    }

    private static func stacked(_ rows: [Tensor]) -> Tensor {
        rows.count == 1 ? rows[0] : Tensor.concatenate(rows, axis: 0)
    }
}
