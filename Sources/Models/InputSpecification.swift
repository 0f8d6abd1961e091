import Tensors

/// One input tensor a model takes: its name, the dtypes it accepts, its shape with dynamic
/// dimensions, and whether it may be omitted. The service validates requests against these before
/// queueing them, and builds the default input it traces layer listings with.
public struct InputSpecification: Sendable, Equatable {
    /// One dimension of the input's shape.
    public enum Dimension: Sendable, Equatable, CustomStringConvertible {
        /// The batch: any size ≥ 1.
        case batch
        /// A token sequence: 1 through `maximum`.
        case sequence(maximum: Int)
        /// Exactly this size.
        case fixed(Int)
        /// Any size ≥ 1 (a CNN's image height or width); `default` is the size layer listings use.
        case size(default: Int)

        public var description: String {
            switch self {
            case .batch: "batch"
            case .sequence(let maximum): "sequence≤\(maximum)"
            case .fixed(let size): "\(size)"
            case .size(let size): "any(\(size))"
            }
        }

        func accepts(_ size: Int) -> Bool {
            switch self {
            case .batch, .size: size >= 1
            case .sequence(let maximum): size >= 1 && size <= maximum
            case .fixed(let expected): size == expected
            }
        }
    }

    /// The input's name: `input` for vision models and MLPs; `input_ids`, `attention_mask`,
    /// `token_type_ids` for BERT.
    public var name: String
    /// The accepted dtypes, the preferred one first.
    public var dtypes: [DType]
    public var shape: [Dimension]
    /// False for inputs with a default (BERT's mask: all ones; token types: zeros).
    public var isRequired: Bool

    public init(name: String, dtypes: [DType], shape: [Dimension], isRequired: Bool) {
        self.name = name
        self.dtypes = dtypes
        self.shape = shape
        self.isRequired = isRequired
    }

    /// `float32 [batch, 3, 224, 224]`, for messages and listings.
    public var summary: String {
        dtypes[0].rawValue + " [" + shape.map(\.description).joined(separator: ", ") + "]"
    }

    /// The concrete shape for `batchSize` and `sequenceLength` (free sizes take their defaults).
    public func concreteShape(batchSize: Int = 1, sequenceLength: Int = 16) -> [Int] {
        shape.map { dimension in
            switch dimension {
            case .batch: batchSize
            case .sequence(let maximum): Swift.min(sequenceLength, maximum)
            case .fixed(let size): size
            case .size(let size): size
            }
        }
    }

    /// Throws `ModelError.invalidInput` naming this input unless `tensor` has an accepted dtype and shape.
    public func check(_ tensor: Tensor) throws {
        guard dtypes.contains(tensor.dtype) else {
            throw ModelError.invalidInput(name: name, reason: "expected dtype " + dtypes.map(\.rawValue).joined(separator: " or ")
                                          + ", got \(tensor.dtype.rawValue)")
        }
        guard tensor.rank == shape.count, zip(shape, tensor.shape).allSatisfy({ $0.accepts($1) }) else {
            throw ModelError.invalidInput(name: name, reason: "expected shape [" + shape.map(\.description).joined(separator: ", ")
                                          + "], got \(tensor.shape)")
        }
    }
}
