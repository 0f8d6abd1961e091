/// What the gradient inspector saw during one backward pass: per layer call, the statistics of
/// the gradient with respect to its output (PyTorch's `grad_output[0]` in a full backward hook),
/// and per parameter the statistics of its accumulated `grad`, with vanishing/exploding flags.
public struct GradientReport: Sendable, Equatable {
    /// One inspected gradient.
    public struct Entry: Sendable, Equatable {
        /// The layer name (capture naming: `layer1.0.relu_1`) or the parameter key (`fc.weight`).
        public var name: String
        /// The module's type name, or `Parameter`.
        public var kind: String
        public var statistics: GradientStatistics
        public var isVanishing: Bool
        public var isExploding: Bool
    }

    /// The layers the backward pass reached, in forward-call order.
    public var layers: [Entry]
    /// Selected layers that ran but received no gradient (not on a path to the loss).
    public var layersWithoutGradient: [String]
    /// Parameters with a gradient, in `namedParameters()` order (empty when not requested).
    public var parameters: [Entry]
    public var thresholds: GradientThresholds

    /// Names of the vanishing layers and parameters.
    public var vanishing: [String] { (layers + parameters).filter(\.isVanishing).map(\.name) }
    /// Names of the exploding layers and parameters.
    public var exploding: [String] { (layers + parameters).filter(\.isExploding).map(\.name) }

    /// The entry of the layer called `name`.
    public func layer(_ name: String) -> Entry? { layers.first { $0.name == name } }
}
