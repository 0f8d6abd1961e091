import Tensors

/// A lookup table of `embeddingCount` vectors of `embeddingDimension` (PyTorch's `nn.Embedding`):
/// integer indices of any shape → [..., dimension]. The `paddingIndex` row starts as zeros.
open class Embedding: UnaryModule {
    public let embeddingCount: Int
    public let embeddingDimension: Int
    /// Non-negative (a negative index given to `init` counts from the end, as in PyTorch).
    public let paddingIndex: Int?
    public let weight: Parameter

    public init(embeddingCount: Int, embeddingDimension: Int, paddingIndex: Int? = nil) {
        if let paddingIndex {
            precondition(paddingIndex < embeddingCount && paddingIndex >= -embeddingCount,
                         "Embedding: padding_idx \(paddingIndex) must be within num_embeddings \(embeddingCount)")
        }
        self.embeddingCount = embeddingCount
        self.embeddingDimension = embeddingDimension
        self.paddingIndex = paddingIndex.map { $0 < 0 ? $0 + embeddingCount : $0 }
        self.weight = Parameter(Tensor(zeros: [embeddingCount, embeddingDimension]))
        super.init()
        resetParameters()
    }

    /// N(0, 1), with the padding row zeroed.
    open override func resetParameters() {
        Initializers.normal(weight)
        if let paddingIndex {
            let dimension = embeddingDimension
            weight.value.withMutableFloats { values in
                for column in 0..<dimension { values[paddingIndex * dimension + column] = 0 }
            }
        }
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        guard [.int64, .int32, .uint8].contains(input.dtype) else {
            throw invalidInput("expected integer indices (int64 or int32), got \(input.dtype) \(input.shape)")
        }
        let indices = input.toInt64Array()
        if let bad = indices.first(where: { $0 < 0 || $0 >= Int64(embeddingCount) }) {
            throw invalidInput("index \(bad) is out of range for \(embeddingCount) embeddings")
        }
        return Tensor.embedding(input, weight: weight.float32Value)
    }

    open override var extraDescription: String {
        var text = "\(embeddingCount), \(embeddingDimension)"
        if let paddingIndex { text += ", padding_idx=\(paddingIndex)" }
        return text
    }
}
