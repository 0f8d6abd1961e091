/// One attribution: what to differentiate, how to present it, and for which layers — what the
/// HTTP endpoint and `periscope attribute` decode and hand to `Module.attribute`.
public struct Attribution: Sendable, Equatable {
    /// What the gradient methods differentiate; nil for attention rollout, which has none.
    public var target: AttributionTarget?
    public var method: AttributionMethod
    /// Layers for `grad:<layer>` (saliency) or `<method>:<layer>` (the class-activation maps), as capture selectors.
    public var layers: [LayerSelector]
    /// How maps are normalized and upsampled (the class-activation maps and attention rollout), and
    /// a transformer's patch grid.
    public var gradCAM: GradCAMOptions
    /// Steps, baseline, noise and batching of the input-attribution methods.
    public var inputAttribution: InputAttributionOptions
    /// Head fusion and discarding of attention rollout.
    public var rollout: AttentionRolloutOptions

    public init(target: AttributionTarget?, method: AttributionMethod = .saliency, layers: [LayerSelector] = [],
                gradCAM: GradCAMOptions = GradCAMOptions(), inputAttribution: InputAttributionOptions = InputAttributionOptions(),
                rollout: AttentionRolloutOptions = AttentionRolloutOptions()) {
        self.target = target
        self.method = method
        self.layers = layers
        self.gradCAM = gradCAM
        self.inputAttribution = inputAttribution
        self.rollout = rollout
    }

    /// An attention rollout (no target, no layers).
    public static func attentionRollout(_ options: AttentionRolloutOptions = AttentionRolloutOptions(),
                                        gradCAM: GradCAMOptions = GradCAMOptions()) -> Attribution {
        Attribution(target: nil, method: .attentionRollout, gradCAM: gradCAM, rollout: options)
    }

    /// The key of the gradient with respect to a layer.
    public static func gradientKey(layer: String) -> String { "grad:" + layer }
    /// The key of a layer's Grad-CAM map.
    public static func gradCAMKey(layer: String) -> String { "gradcam:" + layer }
    /// The key of a layer's class-activation map: `gradcam:`, `gradcam_plus_plus:` or `layercam:` + layer.
    public static func classActivationMapKey(_ method: AttributionMethod, layer: String) -> String { method.rawValue + ":" + layer }
    /// The key of the gradient with respect to the input named `input` (`input_grad` when the
    /// model has one floating-point input).
    public static func inputGradientKey(input: String, only: Bool) -> String { only ? "input_grad" : "input_grad:" + input }
    /// The key of the attention-rollout map.
    public static let attentionRolloutKey = AttributionMethod.attentionRollout.rawValue
    /// The key of an input-attribution map: the method's name (`integrated_gradients`), with
    /// `:<input>` when the model has several floating-point inputs.
    public static func inputAttributionKey(_ method: AttributionMethod, input: String, only: Bool) -> String {
        only ? method.rawValue : method.rawValue + ":" + input
    }
    /// The key of the per-token sums of an input attribution taken at a token input's stand-in
    /// layer ([N, S], the map summed over its last axis): the map's key + `:tokens`
    /// (`integrated_gradients:tokens`).
    public static func tokenAttributionKey(_ mapKey: String) -> String { mapKey + ":tokens" }
}
