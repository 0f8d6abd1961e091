import Foundation
import NN
import ONNX
import Tensors

/// An imported ONNX model as an architecture (`onnx`): the compiled graph plus the serving
/// configuration the file cannot carry — the size of free dimensions, the tokenizer for text.
///
/// Configuration JSON (all optional): `{"architecture": "onnx", "max_sequence_length": 512,
/// "image_size": 224, "tokenizer": "/path/to/hf-dir", "preprocessing": {…}}` — `preprocessing`
/// as for built-in image models (`ImagePreprocessing.Configuration`), `tokenizer` a directory with
/// `vocab.txt` for text inputs (a relative path resolves against the model file's directory).
public struct ONNXArchitecture: Sendable, Equatable {
    /// The settings of the configuration JSON.
    public struct Configuration: Sendable, Equatable, Decodable {
        /// The longest sequence integer inputs (token ids) accept in a free dimension.
        public var maxSequenceLength = 512
        /// The size free spatial dimensions of float inputs take in layer listings.
        public var imageSize = 224
        /// A Hugging Face tokenizer directory (`vocab.txt`) for text inputs.
        public var tokenizer: String?

        public init() {}

        enum CodingKeys: String, CodingKey {
            case maxSequenceLength = "max_sequence_length", imageSize = "image_size", tokenizer
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            maxSequenceLength = try container.decodeIfPresent(Int.self, forKey: .maxSequenceLength) ?? 512
            imageSize = try container.decodeIfPresent(Int.self, forKey: .imageSize) ?? 224
            tokenizer = try container.decodeIfPresent(String.self, forKey: .tokenizer)
            guard maxSequenceLength > 0, imageSize > 0 else {
                throw ModelError.invalidConfiguration(field: "max_sequence_length/image_size", expected: "positive integers")
            }
        }
    }

    /// The compiled graph (shared by every replica).
    public let plan: ONNXGraphPlan
    public let configuration: Configuration

    public init(plan: ONNXGraphPlan, configuration: Configuration) {
        self.plan = plan
        self.configuration = configuration
    }

    public static func == (lhs: ONNXArchitecture, rhs: ONNXArchitecture) -> Bool {
        lhs.plan === rhs.plan && lhs.configuration == rhs.configuration
    }

    /// Reads, checks and compiles the model at `url`; every problem is a `ModelError` naming the
    /// file with the one-line ONNX reason (truncation, wire types, dims, cycles, operators).
    public static func load(contentsOf url: URL, configuration: Configuration) throws -> ONNXArchitecture {
        do {
            let model = try ONNXModelProto.read(contentsOf: url)
            return ONNXArchitecture(plan: try ONNXGraphPlan(model: model), configuration: configuration)
        } catch let error as ONNXError {
            throw ModelError.unreadableFile(path: url.path, reason: error.description)
        }
    }

    /// The graph inputs as the service validates them: the leading free dimension is the batch,
    /// other free dimensions of integer inputs are sequences, of float inputs free sizes.
    var inputs: [InputSpecification] {
        plan.inputs.map { input in
            let isInteger = ONNXElementType(rawValue: input.info.elementType).map { $0 != .float && $0 != .float16 && $0 != .double && $0 != .bfloat16 } ?? false
            let dimensions = (input.info.shape ?? []).enumerated().map { axis, dimension -> InputSpecification.Dimension in
                if case .value(let size) = dimension { return .fixed(size) }
                if axis == 0 { return .batch }
                return isInteger ? .sequence(maximum: configuration.maxSequenceLength) : .size(default: configuration.imageSize)
            }
            // Masks and token types have defaults (all ones, zeros), as for built-in BERT models.
            let optional = isInteger && ["attention_mask", "token_type_ids"].contains(input.name)
            return InputSpecification(name: input.name, dtypes: isInteger ? [.int64, .int32] : [.float32, .float16, .bfloat16],
                                      shape: dimensions, isRequired: !optional)
        }
    }

    /// True for a model whose single required input is a float [N, 3, H, W] image.
    var isVision: Bool {
        let required = inputs.filter(\.isRequired)
        guard required.count == 1, let input = required.first, input.dtypes[0] == .float32, input.shape.count == 4 else { return false }
        if case .fixed(let channels) = input.shape[1] { return channels == 3 }
        return false
    }

    /// ImageNet preprocessing at the input's declared (or configured) size.
    var defaultImagePreprocessing: ImagePreprocessing.Configuration? {
        guard isVision, let shape = inputs.first(where: \.isRequired)?.shape else { return nil }
        func size(_ dimension: InputSpecification.Dimension) -> Int {
            if case .fixed(let value) = dimension { return value }
            return configuration.imageSize
        }
        let crop = (size(shape[2]), size(shape[3]))
        return ImagePreprocessing.Configuration(resize: .shorterSide(Int((Double(min(crop.0, crop.1)) * 256 / 224).rounded())),
                                                cropSize: .init(height: crop.0, width: crop.1))
    }

    /// ONNX tensor names as capture aliases of the layers producing them; names that are also
    /// module paths (or `output`) stay module names.
    var layerAliases: [String: String] {
        let modules = Set(plan.modules.map(\.path))
        var aliases: [String: String] = [:]
        for (tensor, layer) in plan.tensorLayerNames where !modules.contains(tensor) && tensor != LayerSelector.outputName && tensor != layer {
            aliases[tensor] = layer
        }
        return aliases
    }

    /// Runs the graph; integer inputs arrive as int64, float ones as float32, absent masks and
    /// token types take their defaults. A shape the graph cannot take is a `ModelError.invalidInput`.
    func run(_ module: ONNXGraphModule, inputs given: [String: Tensor]) throws -> Tensor {
        var inputs = given
        if let ids = inputs["input_ids"] {
            if plan.inputs.contains(where: { $0.name == "attention_mask" }) && inputs["attention_mask"] == nil {
                inputs["attention_mask"] = Tensor(shape: ids.shape, elements: [Int64](repeating: 1, count: ids.count))
            }
            if plan.inputs.contains(where: { $0.name == "token_type_ids" }) && inputs["token_type_ids"] == nil {
                inputs["token_type_ids"] = Tensor(zeros: ids.shape, dtype: .int64)
            }
        }
        do {
            return try module(inputs: inputs)
        } catch let error as ONNXError {
            throw ModelError.invalidInput(name: plan.inputs.map(\.name).joined(separator: ", "), reason: error.description)
        }
    }
}
