import Tensors

/// Randomly drops a residual branch in training (torchvision's `ops.StochasticDepth`, from "Deep
/// Networks with Stochastic Depth"): per sample (`row`) or for the whole batch (`batch`), with
/// probability `probability`, survivors scaled by 1/(1 − p); the identity in evaluation mode.
/// Draws from the current thread's generator (`RandomState`).
open class StochasticDepth: UnaryModule {
    public enum Mode: String, Sendable {
        case row
        case batch
    }

    public let probability: Double
    public let mode: Mode

    public init(probability: Double, mode: Mode) {
        precondition(probability >= 0 && probability <= 1, "StochasticDepth: drop probability has to be between 0 and 1, but got \(probability)")
        self.probability = probability
        self.mode = mode
        super.init()
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        guard isTraining && probability > 0 else { return input }
        let x = try floatInput(input)
        let survival = Float(1 - probability)
        // One draw per sample (row) or one for the batch, broadcast over the other dimensions.
        var noiseShape = [Int](repeating: 1, count: Swift.max(x.rank, 1))
        if mode == .row, x.rank > 0 { noiseShape[0] = x.shape[0] }
        let noise = RandomState.withGenerator { generator in
            Tensor(shape: noiseShape, scalars: (0..<noiseShape.reduce(1, *)).map { _ in
                generator.nextUnitFloat() < survival ? (survival > 0 ? 1 / survival : 0) : 0
            })
        }
        return x * noise
    }

    open override var extraDescription: String { "p=\(PythonLiteral.float(probability)), mode=\(mode.rawValue)" }
}
