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
    func cachedExtraction(request: ResolvedLayers, replica: InferenceModel) throws -> CachedBatchExtraction? {
        guard let cache, let cacheModelDigest, let processing = FeatureCacheKeys.processing(postProcessing) else { return nil }
        let names = try extract(ServedModel.defaultInputs(for: model), request: request, replica: replica).map(\.name)
        return CachedBatchExtraction(cache: cache, modelName: plan.model.name, modelDigest: cacheModelDigest, processing: processing, names: names)
    }
}

/// A dataset extraction's batches through the feature cache. Rows are keyed as computed in their
/// batch (`FeatureCacheKeys.batchRowDigests`: same rows, same order, same padding); a batch whose
/// every row is cached is answered without a forward pass, any other is computed whole and stored.
///
/// Why whole batches: a forward pass is not bit-for-bit independent of the other rows of its batch
/// (GEMM tiling and tails differ with the row count), so computing only a batch's missing rows, or
/// reusing a row computed in another batch (a features request's, or an equal image elsewhere in
/// the dataset), could change the last bits and break the promise that the shards are
/// byte-identical to an uncached run. Batches never cross a shard boundary and
/// start at the shard's first item, so a re-run over a grown dataset finds every batch of its
/// complete old shards cached, and computes the new items plus, at the old data's end, the old
/// items that now share a batch with new ones (at most one batch per kind of input; for texts,
/// which are grouped by length within a shard, the old data's last shard).
struct CachedBatchExtraction {
    let cache: FeatureCache
    let modelName: String
    let modelDigest: String
    let processing: String
    /// The output names in capture order.
    let names: [String]

    /// The batch's features and how many of its rows were computed (0 or all). `compute` runs a
    /// forward pass (with post-processing) on the batch's inputs.
    func extract(_ batch: DatasetBatch, compute: ([String: Tensor]) throws -> [(name: String, tensor: Tensor)])
        throws -> (features: [(name: String, tensor: Tensor)], computedRows: Int) {
        let rowCount = batch.positions.count
        guard let rowDigests = FeatureCacheKeys.inputDigests(batch.inputs, rows: rowCount) else {
            return (try compute(batch.inputs), rowCount)
        }
        let digests = FeatureCacheKeys.batchRowDigests(rowDigests)
        let found = cache.lookup(model: modelName, modelDigest: modelDigest, inputDigests: digests, layers: names, processing: processing)
        if found.allSatisfy({ $0 != nil }) {
            return (names.map { name in (name, Self.stacked(found.map { $0![name]! })) }, 0)
        }
        let features = try compute(batch.inputs)
        cache.store(modelDigest: modelDigest, inputDigests: digests, processing: processing, features: features)
        return (features, rowCount)
    }

    private static func stacked(_ rows: [Tensor]) -> Tensor {
        rows.count == 1 ? rows[0] : Tensor.concatenate(rows, axis: 0)
    }
}
