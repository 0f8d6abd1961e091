/// The settings of the input-attribution methods (`AttributionMethod.isInputAttribution`), with
/// Captum's defaults where Captum has them.
public struct InputAttributionOptions: Sendable, Equatable {
    /// Integrated Gradients: points on the path (Captum's `n_steps`).
    public var steps: Int
    /// Integrated Gradients: how the points and weights are chosen (Captum's `method`).
    public var rule: IntegrationRule
    /// Integrated Gradients: the constant every element of the baseline input takes.
    public var baseline: Float
    /// SmoothGrad: noisy copies averaged (Captum's `nt_samples`).
    public var samples: Int
    /// SmoothGrad: the noise's standard deviation, in input units (Captum's `stdevs`).
    public var noiseStandardDeviation: Float
    /// SmoothGrad: the noise generator's seed (the same seed gives the same noise).
    public var seed: UInt64
    /// How many scaled or noisy copies of the input one forward/backward pass takes: the memory
    /// bound of the computation (each copy holds the whole forward graph). The caller derives it
    /// from a memory budget; results do not depend on it.
    public var copiesPerPass: Int

    public init(steps: Int = 50, rule: IntegrationRule = .gaussLegendre, baseline: Float = 0, samples: Int = 10,
                noiseStandardDeviation: Float = 0.15, seed: UInt64 = 0, copiesPerPass: Int = 1) {
        self.steps = steps
        self.rule = rule
        self.baseline = baseline
        self.samples = samples
        self.noiseStandardDeviation = noiseStandardDeviation
        self.seed = seed
        self.copiesPerPass = copiesPerPass
    }
}
