import HTTP
import Tensors

/// One features request as the cache sees it: the keys of its rows and whether it may read them.
///
/// A request is cacheable when the cache is on, the model version has a digest, its layers are
/// batch-leading (so an answer is its rows' entries stacked), and its post-processing pools
/// (`FeatureCacheKeys.processing`). Features are deterministic given the model and the input,
/// and this path computes no gradients (attributions never go through it), so a stored row is
/// exactly what a forward pass would give again.
struct FeatureCacheRequest {
    let cache: FeatureCache
    let model: ServedModel
    let modelDigest: String
    let inputDigests: [String]
    let processing: String
    /// False with `Cache-Control: no-cache`: computed (and stored) without reading.
    let readsCache: Bool

    /// The request's cache view, and the status its response reports when nothing is found:
    /// nil/nil with no cache (no header), nil/bypass when the request is not cacheable.
    static func make(cache: FeatureCache?, model: ServedModel, inputs: PreparedInputs, postProcessing: FeaturePostProcessing,
                     headers: HTTPHeaders) -> (request: FeatureCacheRequest?, status: FeatureCacheStatus?) {
        guard let cache else { return (nil, nil) }
        guard let modelDigest = model.cacheDigest, model.isBatchLeading, let processing = FeatureCacheKeys.processing(postProcessing),
              let inputDigests = FeatureCacheKeys.inputDigests(inputs.tensors, rows: inputs.rows) else { return (nil, .bypass) }
        let noCache = headers.commaSeparatedValues(for: "cache-control").contains { $0.lowercased() == "no-cache" }
        let request = FeatureCacheRequest(cache: cache, model: model, modelDigest: modelDigest, inputDigests: inputDigests,
                                          processing: processing, readsCache: !noCache)
        return (request, noCache ? .bypass : .miss)
    }

    /// The features named `names`, each the rows' cached entries stacked, when every (row, name)
    /// is cached; nil otherwise.
    func cachedFeatures(names: [String]) -> [(name: String, tensor: Tensor)]? {
        let rows = cache.lookup(model: model.name, modelDigest: modelDigest, inputDigests: inputDigests, layers: names, processing: processing)
        var complete: [[String: Tensor]] = []
        for row in rows {
            guard let row else { return nil }
            complete.append(row)
        }
        return names.map { name in (name, complete.count == 1 ? complete[0][name]! : Tensor.concatenate(complete.map { $0[name]! }, axis: 0)) }
    }

    /// Stores computed features, row by row.
    func store(_ features: [(name: String, tensor: Tensor)]) {
        cache.store(modelDigest: modelDigest, inputDigests: inputDigests, processing: processing, features: features)
    }
}
