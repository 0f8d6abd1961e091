import Tensors

/// Reorders the dimensions of its input (torchvision's `ops.misc.Permute`).
open class Permute: UnaryModule {
    public let dimensions: [Int]

    public init(_ dimensions: [Int]) {
        precondition(Set(dimensions) == Set(0..<dimensions.count), "Permute: \(dimensions) is not a permutation")
        self.dimensions = dimensions
        super.init()
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        guard input.rank == dimensions.count else {
            throw invalidInput("expected a tensor of rank \(dimensions.count), got shape \(input.shape)")
        }
        return input.permuted(dimensions)
    }
}
