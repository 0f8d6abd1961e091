import Tensors

/// Zeroes each element with probability `probability` in training mode and scales the rest by
/// 1/(1 − p) (PyTorch's `nn.Dropout`); the identity in evaluation mode. Draws from the current
/// thread's generator (`RandomState`).
open class Dropout: UnaryModule {
    public let probability: Double
    public let inplace: Bool

    public init(probability: Double = 0.5, inplace: Bool = false) {
        precondition(probability >= 0 && probability <= 1, "Dropout: probability has to be between 0 and 1, but got \(probability)")
        self.probability = probability
        self.inplace = inplace
        super.init()
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        guard isTraining && probability > 0 else { return input }
        let x = try floatInput(input)
        if probability == 1 { return x * 0 }
        let keep = Float(1 - probability), scale = 1 / Float(1 - probability)
        let mask = RandomState.withGenerator { generator in
            Tensor(shape: x.shape, scalars: (0..<x.count).map { _ in generator.nextUnitFloat() < keep ? scale : 0 })
        }
        return x * mask
    }

    open override var extraDescription: String {
        "p=\(PythonLiteral.float(probability)), inplace=\(PythonLiteral.bool(inplace))"
    }
}
