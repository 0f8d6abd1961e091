import Foundation
import NN
import ONNX
import Tensors

/// A model ready to serve: its architecture, verified weights, inputs, output name, layer aliases
/// and preprocessing — the contract between Models and the service.
///
/// `LoadedModel` is `Sendable` and holds no module tree: the service loads it once, then every
/// worker thread calls `makeReplica()` on its own thread to get an `InferenceModel` (a module tree
/// of its own). Replicas share the weight storage (the state dict's tensors are copy-on-write, and
/// file-backed weights stay memory-mapped), and their packed/folded inference weights are shared
/// through `PackedWeightCache`, so N workers do not hold N copies.
///
/// Typical service flow:
///
///     let model = try LoadedModel.load(architecture: "resnet50", configuration: json, weights: url)
///     // validation, before queueing (pure, Sendable):
///     let request = try model.resolveLayers(["layer3", "layer4.*.relu", -1], in: catalog)
///     // on a worker thread:
///     let replica = try model.makeReplica()
///     let features = try replica.extractFeatures(request, inputs: ["input": pixels])
public struct LoadedModel: Sendable {
    /// The architecture name it was loaded as (`resnet50`, `vit`, `bert`, …).
    public let name: String
    public let architecture: Architecture
    /// The weights in the model's state-dict order, in the parameters' dtypes (float32); file-backed
    /// where no conversion was needed.
    public let weights: StateDict
    /// Weight keys of the file that are not part of the architecture and were left out
    /// (a task checkpoint's `cls.*` or `classifier.*` heads; BERT's legacy `embeddings.position_ids`).
    public let ignoredWeightKeys: [String]
    /// The image preprocessing for image inputs (from the configuration's `preprocessing`, else
    /// torchvision's evaluation transform for the architecture); nil for non-image models. Settable:
    /// the service attaches a CLIP's `preprocessor_config.json` found next to its weights.
    public var imagePreprocessing: ImagePreprocessing?
    /// The tokenizer for text inputs (WordPiece from a `vocab.txt` for BERT; CLIP's byte-level BPE
    /// from `vocab.json` + `merges.txt` or `tokenizer.json`); nil otherwise. Settable: the service
    /// attaches the files it finds next to a registered model's weights.
    public var tokenizer: (any TextTokenizer)?
    /// How the model embeds for `POST /v1/embeddings` (pooling, Dense layers, normalization,
    /// Matryoshka dimensions, truncation, prompts). Settable: the service reads the registration's
    /// `embedding` settings and a sentence-transformers directory next to the weights.
    public var embedding = EmbeddingConfiguration()
    /// Parameter elements.
    public let parameterCount: Int
    /// The arithmetic every replica computes in; float32 unless `setPrecision` chose another.
    public private(set) var precision: ComputePrecision = .float32

    // MARK: - Loading

    /// Loads an architecture by name (`resnet50`, `vit`, …; nil: the configuration's `architecture`
    /// key) with an optional JSON configuration, and weights from a safetensors file — or, without
    /// `weights`, freshly initialized weights drawn from `seed` (for benchmarks and tests).
    ///
    /// BERT checkpoints may carry the `bert.` prefix of task models; their heads (`cls.*`,
    /// `classifier.*`, …) are ignored and listed in `ignoredWeightKeys`, and a checkpoint without
    /// pooler weights loads as a model without pooler. Other architectures load strictly: every key
    /// must match. Float16/bfloat16 weights are converted to float32 once.
    public static func load(architecture name: String?, configuration: Data? = nil, weights: URL? = nil, seed: UInt64 = 0) throws -> LoadedModel {
        if try ArchitectureRegistry.isONNX(named: name, configuration: configuration) {
            guard let weights else { throw ModelError.invalidConfiguration(field: "weights", expected: "the .onnx model file for architecture onnx") }
            return try load(onnx: weights, configuration: configuration)
        }
        let resolved = try ArchitectureRegistry.resolve(named: name, configuration: configuration)
        let stateDict = try weights.map(readWeights)
        return try LoadedModel(name: resolved.name, architecture: resolved.architecture, stateDict: stateDict,
                               imagePreprocessing: resolved.preprocessing, tokenizer: nil, seed: seed)
    }

    /// Loads a Hugging Face model directory: `config.json` (a BERT, or a DINOv2 or CLIP by its
    /// `model_type`), `model.safetensors`, and for text input `vocab.txt` (CLIP: `vocab.json` +
    /// `merges.txt` or `tokenizer.json`) with `tokenizer_config.json`; a CLIP's image preprocessing
    /// from `preprocessor_config.json` when present.
    public static func load(huggingFaceDirectory directory: URL) throws -> LoadedModel {
        let configurationURL = directory.appendingPathComponent("config.json")
        let configuration: Data
        do {
            configuration = try Data(contentsOf: configurationURL)
        } catch {
            throw ModelError.unreadableFile(path: configurationURL.path, reason: "cannot read the model configuration (\(error.localizedDescription))")
        }
        let weightsURL = directory.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw ModelError.unreadableFile(path: weightsURL.path, reason: "no model.safetensors in the model directory (only safetensors weights are read)")
        }
        // `model_type` picks the family: DINOv2 (with or without registers), CLIP, else BERT.
        let modelType = (try? JSONSerialization.jsonObject(with: configuration) as? [String: Any])?["model_type"] as? String ?? ""
        let family = modelType.hasPrefix("dinov2") ? "dinov2" : modelType == "clip" ? "clip" : "bert"
        let resolved = try ArchitectureRegistry.resolve(named: family, configuration: configuration)
        var tokenizer: (any TextTokenizer)?
        var preprocessing: ImagePreprocessing.Configuration?
        if family == "clip" {
            if CLIPTokenizer.isPresent(in: directory) { tokenizer = try CLIPTokenizer(directory: directory) }
            preprocessing = try ImagePreprocessing.Configuration.huggingFace(directory: directory)
        } else if FileManager.default.fileExists(atPath: directory.appendingPathComponent("vocab.txt").path) {
            tokenizer = try WordPieceTokenizer(directory: directory)
        }
        return try LoadedModel(name: resolved.name, architecture: resolved.architecture, stateDict: readWeights(weightsURL),
                               imagePreprocessing: preprocessing, tokenizer: tokenizer, seed: 0)
    }

    /// Loads an ONNX model file (`architecture: "onnx"`): reads and compiles the graph (every
    /// malformed or unsupported part is a `ModelError` here, never at request time), attaches the
    /// configured tokenizer, and runs the graph once on `defaultInputs()` so that shape errors
    /// also surface at registration.
    public static func load(onnx url: URL, configuration data: Data?) throws -> LoadedModel {
        let settings = try ArchitectureRegistry.onnxSettings(configuration: data)
        let architecture = try ONNXArchitecture.load(contentsOf: url, configuration: settings.configuration)
        var tokenizer: (any TextTokenizer)?
        if let path = settings.configuration.tokenizer {
            let directory = path.hasPrefix("/") ? URL(fileURLWithPath: path) : url.deletingLastPathComponent().appendingPathComponent(path)
            tokenizer = try WordPieceTokenizer(directory: directory)
        }
        if settings.preprocessing != nil && !architecture.isVision {
            throw ModelError.invalidConfiguration(field: "preprocessing", expected: "no image preprocessing (the model takes no [N, 3, H, W] image)")
        }
        let model = try LoadedModel(name: "onnx", architecture: .onnx(architecture), stateDict: nil,
                                    imagePreprocessing: settings.preprocessing, tokenizer: tokenizer, seed: 0)
        do {
            _ = try model.makeReplica().forward(inputs: model.defaultInputs())
        } catch let error as ModelError {
            throw ModelError.unreadableFile(path: url.path, reason: "the graph does not run on its default input: \(error)")
        }
        return model
    }

    /// Builds and checks the model once: weights matched and converted, or seeded.
    init(name: String, architecture: Architecture, stateDict: StateDict?, imagePreprocessing: ImagePreprocessing.Configuration?,
         tokenizer: (any TextTokenizer)?, seed: UInt64) throws {
        var architecture = architecture
        var ignored: [String] = []
        var state = stateDict
        if case .bert(var configuration) = architecture, let original = stateDict {
            let normalized = LoadedModel.normalizeBertWeights(original)
            ignored = normalized.ignored
            state = normalized.weights
            if configuration.addPoolingLayer && !normalized.weights.keys.contains(where: { $0.hasPrefix("pooler.") }) {
                configuration.addPoolingLayer = false
                architecture = .bert(configuration)
            }
        }
        if case .dinov2 = architecture, let original = stateDict {
            (state, ignored) = Dinov2Model.normalizeWeights(original)
        }
        if case .clip = architecture, let original = stateDict {
            (state, ignored) = CLIPModel.normalizeWeights(original)
        }
        // Random values only when they are the weights; loaded weights replace them anyway.
        let module = try state == nil ? withRandomSeed(seed) { try architecture.makeModule() }
                                      : Initializers.withoutRandomValues { try architecture.makeModule() }
        if let state {
            do {
                try module.loadStateDict(state)
            } catch let error as StateDictError {
                switch error {
                case let .keyMismatch(missing, unexpected): throw ModelError.weightsMismatch(missing: missing, unexpected: unexpected)
                case let .shapeMismatch(key, expected, found): throw ModelError.weightShapeMismatch(key: key, expected: expected, found: found)
                }
            }
        }
        self.name = name
        self.architecture = architecture
        self.weights = module.stateDict()
        self.ignoredWeightKeys = ignored
        self.imagePreprocessing = try (imagePreprocessing ?? architecture.defaultImagePreprocessing).map { try ImagePreprocessing(configuration: $0) }
        self.tokenizer = tokenizer
        self.parameterCount = module.parameterCount
    }

    /// Reads every tensor of a safetensors file into memory (not mapped: the model must not depend
    /// on the file once loaded — a file truncated under a mapping would crash the server).
    private static func readWeights(_ url: URL) throws -> StateDict {
        do {
            return try SafetensorsFile(readingContentsOf: url).stateDict()
        } catch {
            throw ModelError.unreadableFile(path: url.path, reason: "\(error)")
        }
    }

    /// BertModel keys from a BertModel or task checkpoint: `bert.` stripped; heads and the legacy
    /// position-id buffers set aside.
    static func normalizeBertWeights(_ state: StateDict) -> (weights: StateDict, ignored: [String]) {
        let prefixed = state.keys.contains { $0.hasPrefix("bert.") }
        var weights = StateDict(), ignored: [String] = []
        for (key, tensor) in state {
            var name = key
            if prefixed {
                guard key.hasPrefix("bert.") else { ignored.append(key); continue }
                name = String(key.dropFirst(5))
            }
            let isModelKey = ["embeddings.", "encoder.", "pooler."].contains { name.hasPrefix($0) }
            if !isModelKey || name == "embeddings.position_ids" || name == "embeddings.token_type_ids" {
                ignored.append(key)
                continue
            }
            weights[name] = tensor
        }
        return (weights, ignored)
    }

    // MARK: - Precision

    /// Makes the replicas compute in `precision`, or throws `ModelError.unsupportedPrecision` when
    /// this CPU or this model cannot (never a silent fallback to float32).
    public mutating func setPrecision(_ precision: ComputePrecision) throws {
        if let reason = precision.unavailableReason { throw ModelError.unsupportedPrecision(precision.rawValue, reason: reason) }
        if precision != .float32, case .onnx = architecture {
            throw ModelError.unsupportedPrecision(precision.rawValue, reason: "an ONNX graph computes in float32 here (\(precision) changes the "
                                                  + "Linear layers of the built-in architectures); "
                                                  + (precision == .int8 ? "quantize the export with ONNX Runtime instead" : "register it as float32"))
        }
        self.precision = precision
    }

    // MARK: - Interface

    /// The input tensors a forward pass takes.
    public var inputs: [InputSpecification] { architecture.inputs }

    /// The name of the tensor `InferenceModel.forward` returns (`output`, or BERT's `last_hidden_state`).
    public var outputName: String { architecture.outputName }

    /// Extra capture names mapped to the layer they stand for (`last_hidden_state` → `output`,
    /// `pooler_output` → `pooler` for BERT); empty for other models.
    public var layerAliases: [String: String] { architecture.layerAliases }

    /// A new module tree with these weights, for the calling thread: storage and packed weights are
    /// shared with every other replica. Call it on the worker thread that will run the replica.
    public func makeReplica() throws -> InferenceModel {
        try InferenceModel(model: self)
    }

    /// The layer catalog of one forward pass on `defaultInputs()` (what `GET /layers` lists and what
    /// `resolveLayers` validates against), traced on a temporary replica built on this thread.
    public func traceLayers() throws -> LayerCatalog {
        try makeReplica().traceLayers()
    }

    /// Inputs for a layer listing or a benchmark: zeros (images), token id zero with a full mask
    /// (BERT), at `batchSize` and, for sequences, `sequenceLength`.
    public func defaultInputs(batchSize: Int = 1, sequenceLength: Int = 16) -> [String: Tensor] {
        var inputs: [String: Tensor] = [:]
        for specification in self.inputs {
            let shape = specification.concreteShape(batchSize: batchSize, sequenceLength: sequenceLength)
            switch specification.name {
            case "attention_mask": inputs[specification.name] = Tensor(shape: shape, elements: [Int64](repeating: 1, count: Tensor.elementCount(shape)))
            default: inputs[specification.name] = Tensor(zeros: shape, dtype: specification.dtypes[0])
            }
        }
        return inputs
    }

    /// Tokenizes `texts` into `input_ids`, `attention_mask`, `token_type_ids` (padded to the longest,
    /// truncated to `maxLength` or the tokenizer's and the model's limit).
    public func tokenize(_ texts: [String], maxLength: Int? = nil) throws -> [String: Tensor] {
        try tokenizeBatch(texts, maxLength: maxLength).inputs(for: self)
    }

    /// The longest sequence (special tokens included) a text becomes: the smallest of the
    /// tokenizer's `model_max_length`, the model's positions and the embedding's `max_seq_length`.
    public var maxSequenceLength: Int? {
        guard let tokenizer else { return nil }
        let modelLimit: Int
        switch architecture {
        case .bert(let configuration): modelLimit = configuration.maxPositionEmbeddings
        case .clip(let configuration): modelLimit = configuration.maxPositionEmbeddings
        case .onnx(let model) where model.plan.inputs.contains(where: { $0.name == "input_ids" }): modelLimit = model.configuration.maxSequenceLength
        default: return nil
        }
        return [tokenizer.modelMaxLength, modelLimit, embedding.maxSequenceLength ?? Int.max].min()!
    }

    /// Tokenizes `texts` (padded to the longest) with their lengths before and after truncation;
    /// `truncation` `.none` throws `TokenizerError.sequenceTooLong` for an over-long text.
    public func tokenizeBatch(_ texts: [String], maxLength: Int? = nil, truncation: TruncationMode = .end) throws -> TokenizedBatch {
        guard let tokenizer, let limit = maxSequenceLength else { throw ModelError.textInputUnsupported(architecture: name) }
        return try tokenizer.encode(texts, maxLength: min(maxLength ?? limit, limit), truncation: truncation)
    }

    /// Pre-tokenized inputs (WordPiece ids without special tokens), wrapped and truncated like text.
    public func tokenizeBatch(tokenIds: [[Int]], truncation: TruncationMode = .end) throws -> TokenizedBatch {
        guard let tokenizer, let limit = maxSequenceLength else { throw ModelError.textInputUnsupported(architecture: name) }
        return try tokenizer.encode(tokenIds: tokenIds, maxLength: limit, truncation: truncation)
    }

    /// Resolves a client's layer list against `catalog` (from `InferenceModel.traceLayers`), with this
    /// model's aliases: pure and `Sendable`, for validation before queueing. Unknown names throw
    /// `CaptureError` listing the closest valid names.
    public func resolveLayers(_ selectors: [LayerSelector], in catalog: LayerCatalog) throws -> ResolvedLayers {
        let aliases = layerAliases
        var resolved: [LayerSelector] = []
        var pairs: [(alias: String, name: String)] = []
        var explicit = Set<String>()
        for selector in selectors {
            if case .name(let name) = selector, let target = aliases[name] {
                if !pairs.contains(where: { $0.alias == name }) { pairs.append((name, target)) }
                resolved.append(.name(target))
            } else {
                if case .name(let name) = selector { explicit.insert(name) }
                resolved.append(selector)
            }
        }
        let selection: LayerSelection
        do {
            selection = try LayerSelection(resolved, in: catalog)
        } catch CaptureError.unknownLayer(let name, let closest) where !aliases.isEmpty {
            // Offer the aliases among the suggestions.
            let ranked = (closest + aliases.keys.sorted()).map { (LoadedModel.editDistance(name, $0), $0) }
            throw CaptureError.unknownLayer(name, closest: ranked.sorted { $0.0 < $1.0 }.prefix(5).map(\.1))
        }
        // A layer requested only through its alias is reported only under the alias — unless an
        // index or a glob may have asked for it too.
        let broad = selectors.contains { selector in
            if case .name(let text) = selector { return text.contains { "*?[".contains($0) } }
            return true
        }
        let dropped = broad ? [] : Set(pairs.map(\.name).filter { !explicit.contains($0) })
        return ResolvedLayers(selection: selection, aliases: pairs, droppedNames: dropped)
    }

    /// Levenshtein distance, for suggestions.
    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count), current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
