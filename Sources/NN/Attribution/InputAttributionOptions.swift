/// The settings of the input-attribution methods (`AttributionMethod.isInputAttribution`), with
/// Captum's defaults where Captum has them.
public struct InputAttributionOptions: Sendable, Equatable {
    /// Integrated Gradients: points on the path (Captum's `n_steps`).
    public var steps: Int
    /// Integrated Gradients: how the points and weights are chosen (Captum's `method`).
    public var rule: IntegrationRule
    /// Integrated Gradients: the constant every element of the baseline input takes.
    public var baseline: Float
    /// Integrated Gradients on a token input attributed at its stand-in layer (BERT's word
    /// embeddings): the baseline of that layer's output — the output for ids all equal to a token
    /// (default [PAD], id 0, as Captum users of `LayerIntegratedGradients` commonly pass), or zero.
    public var tokenBaseline: TokenBaseline
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

    public init(steps: Int = 50, rule: IntegrationRule = .gaussLegendre, baseline: Float = 0, tokenBaseline: TokenBaseline = .token(0),
                samples: Int = 10, noiseStandardDeviation: Float = 0.15, seed: UInt64 = 0, copiesPerPass: Int = 1) {
        self.steps = steps
        self.rule = rule
        self.baseline = baseline
        self.tokenBaseline = tokenBaseline
        self.samples = samples
        self.noiseStandardDeviation = noiseStandardDeviation
        self.seed = seed
        self.copiesPerPass = copiesPerPass
    }
}

extension InputAttributionOptions {
    /// The baseline of a token input's stand-in layer output (`tokenBaseline`).
    public enum TokenBaseline: Sendable, Equatable {
        /// The layer's output for ids all equal to this token id (0: BERT's [PAD]).
        case token(Int)
        /// A zero output (Captum's `IntegratedGradients` on `inputs_embeds` with a zero baseline).
        case zeroEmbedding
    }
}
