import Models
import NN
import Synchronization
import Tensors

/// A model version loaded for serving: its name and version, the `LoadedModel`
/// (weights shared by every worker's replica), its batching policy, statistics, and the traced layer
/// catalogs requests are resolved and size-checked against.
///
/// Catalogs are keyed by the input shape without the batch dimension (`input[3,224,224]`): layer
/// names do not depend on it, output shapes do. The one for the model's default input is traced
/// during warm-up; another shape is traced (at batch 1, on a worker) the first time a request
/// brings it, so the response size is known before the request's own forward pass runs.
public final class ServedModel: Sendable {
    public let name: String
    public let version: Int
    public let model: LoadedModel
    public let batching: BatchingPolicy
    public let statistics: ModelStatistics
    /// The signature of `defaultInputs`.
    public let defaultSignature: String
    /// The input layer listings and warm-up use (`ServedModel.defaultInputs(for:)`).
    public let defaultInputs: [String: Tensor]
    /// The feature cache's digest of this version (`FeatureCacheKeys.modelDigest(of:)`); nil: its
    /// features are not cached (a model served without a registry record).
    public let cacheDigest: String?

    private let catalogs = Mutex<[String: LayerCatalog]>([:])
    private let retiredFlag = Atomic<Bool>(false)
    private let batchLeadingFlag = Atomic<Bool>(true)

    /// Most input shapes whose catalogs are kept per model (the default one is never evicted).
    public static let catalogCacheLimit = 32

    public init(name: String, version: Int, model: LoadedModel, batching: BatchingPolicy, statistics: ModelStatistics = ModelStatistics(),
                cacheDigest: String? = nil) {
        self.name = name
        self.cacheDigest = cacheDigest
        self.version = version
        self.model = model
        self.batching = batching
        self.statistics = statistics
        defaultInputs = Self.defaultInputs(for: model)
        defaultSignature = Self.signature(of: defaultInputs)
    }

    /// The default input of `model` at batch 1: for an image model with a crop size, an image of
    /// that size (what an image request becomes, e.g. 224×224 for torchvision's preprocessing);
    /// otherwise `LoadedModel.defaultInputs()` (zeros; BERT: 16 tokens; CLIP: both, so that its
    /// listing has both towers).
    public static func defaultInputs(for model: LoadedModel) -> [String: Tensor] {
        if let name = model.architecture.imageInputName, let crop = model.imagePreprocessing?.configuration.cropSize,
           let input = model.inputs.first(where: { $0.name == name }) {
            let image = Tensor(zeros: [1, 3, crop.height, crop.width], dtype: input.dtypes[0])
            // A model of images and texts (CLIP) lists both towers' layers: it gets both inputs.
            guard model.architecture.takesText else { return [input.name: image] }
            return model.defaultInputs().merging([input.name: image]) { _, new in new }
        }
        return model.defaultInputs()
    }

    /// `name@version`, for logs and messages.
    public var displayName: String { "\(name)@\(version)" }

    /// Set when the version starts being unloaded or removed: no new job for it is queued, and
    /// workers drop their replicas of it.
    public var isRetired: Bool { retiredFlag.load(ordering: .acquiring) }

    func markRetired() { retiredFlag.store(true, ordering: .releasing) }

    /// Whether every layer's output has the batch as its first axis (checked on the default
    /// catalog at warm-up): only then can requests be batched and split again.
    public var isBatchLeading: Bool { batchLeadingFlag.load(ordering: .relaxed) }

    func setBatchLeading(_ value: Bool) { batchLeadingFlag.store(value, ordering: .relaxed) }

    /// Whether jobs of this model may be batched together.
    public var allowsBatching: Bool { batching.batches && isBatchLeading }

    /// Whether token-pooled text jobs of this model may be batched, padded to a common length.
    public var allowsTextBatching: Bool { batching.isTextEnabled && isBatchLeading && model.tokenizer != nil }

    // MARK: - Catalogs

    /// The catalog traced on the default input (present once the model is warm).
    public var defaultCatalog: LayerCatalog {
        guard let catalog = cachedCatalog(signature: defaultSignature) else {
            preconditionFailure("\(displayName): the default catalog is read before warm-up traced it")
        }
        return catalog
    }

    /// The catalog for inputs of `signature`, if traced.
    public func cachedCatalog(signature: String) -> LayerCatalog? {
        catalogs.withLock { $0[signature] }
    }

    /// Keeps `catalog` for `signature`, evicting another non-default one when the cache is full.
    public func store(_ catalog: LayerCatalog, signature: String) {
        catalogs.withLock { catalogs in
            if catalogs[signature] == nil, catalogs.count >= Self.catalogCacheLimit,
               let victim = catalogs.keys.first(where: { $0 != defaultSignature }) {
                catalogs[victim] = nil
            }
            catalogs[signature] = catalog
        }
    }

    /// The input shapes without the batch dimension, by name: `input[3,224,224]`,
    /// `attention_mask[16];input_ids[16]`.
    public static func signature(of inputs: [String: Tensor]) -> String {
        inputs.keys.sorted().map { name in
            name + "[" + inputs[name]!.shape.dropFirst().map(String.init).joined(separator: ",") + "]"
        }.joined(separator: ";")
    }

    /// Batch-1 inputs with the shapes and dtypes of `inputs`: zeros, and ones for an attention mask
    /// (a trace needs shapes, not values).
    public static func traceInputs(like inputs: [String: Tensor]) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (name, tensor) in inputs {
            let shape = [1] + tensor.shape.dropFirst()
            if name == "attention_mask" {
                result[name] = Tensor(shape: shape, elements: [Int64](repeating: 1, count: Tensor.elementCount(shape))).to(tensor.dtype)
            } else {
                result[name] = Tensor(zeros: shape, dtype: tensor.dtype)
            }
        }
        return result
    }
}
