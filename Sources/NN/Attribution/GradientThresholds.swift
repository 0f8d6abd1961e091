/// When the gradient inspector flags a gradient as vanishing or exploding.
public struct GradientThresholds: Sendable, Equatable, Codable {
    /// A gradient whose largest |g| is below this is vanishing.
    public var vanishing: Double
    /// A gradient whose largest |g| is above this, or that holds NaN/∞, is exploding.
    public var exploding: Double

    public init(vanishing: Double = 1e-7, exploding: Double = 1e3) {
        precondition(vanishing >= 0 && exploding > vanishing,
                     "GradientThresholds: need 0 ≤ vanishing (\(vanishing)) < exploding (\(exploding))")
        self.vanishing = vanishing
        self.exploding = exploding
    }

    /// Whether `statistics` count as vanishing.
    public func isVanishing(_ statistics: GradientStatistics) -> Bool {
        statistics.nonFiniteCount == 0 && statistics.maximum < vanishing
    }

    /// Whether `statistics` count as exploding.
    public func isExploding(_ statistics: GradientStatistics) -> Bool {
        statistics.nonFiniteCount > 0 || statistics.maximum > exploding
    }
}
