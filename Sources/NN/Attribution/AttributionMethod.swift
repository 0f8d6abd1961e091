/// Which maps an attribution returns.
public enum AttributionMethod: String, Sendable, Equatable, Codable, CaseIterable {
    /// The raw gradient of the target with respect to every floating-point input (`input_grad`)
    /// and to each selected layer's activation (`grad:<layer>`). Take |·| (and the maximum over
    /// channels) for a classic saliency map.
    case saliency
    /// Grad-CAM for each selected layer (`gradcam:<layer>`): see `GradCAM`.
    case gradcam
    /// Grad-CAM++ (Chattopadhyay et al. 2018; pytorch-grad-cam's `GradCAMPlusPlus`) for each layer
    /// (`gradcam_plus_plus:<layer>`).
    case gradCAMPlusPlus = "gradcam_plus_plus"
    /// LayerCAM (Jiang et al. 2021; pytorch-grad-cam's `LayerCAM`) for each layer (`layercam:<layer>`).
    case layerCAM = "layercam"
    /// The input times its gradient (Captum's `InputXGradient`), per floating-point input.
    case inputXGradient = "input_x_gradient"
    /// Integrated Gradients (Sundararajan et al. 2017; Captum's `IntegratedGradients`): the
    /// gradients along the straight path from a baseline to the input, integrated by
    /// `PathAttributionOptions.rule` over `steps` points, times (input − baseline).
    case integratedGradients = "integrated_gradients"
    /// SmoothGrad (Smilkov et al. 2017; Captum's `NoiseTunnel(Saliency)` with `smoothgrad`): the mean
    /// gradient over `samples` copies of the input with Gaussian noise added.
    case smoothGrad = "smoothgrad"
    /// Attention rollout (Abnar & Zuidema 2020) of a transformer (`AttentionRollout`): how much each
    /// token flows into the class token through every layer's attention. Needs no gradient and no
    /// target; one map (`attention_rollout`), on the patch grid for vision transformers.
    case attentionRollout = "attention_rollout"

    /// True for the methods that differentiate the inputs several times (or scale them) and return
    /// one map per floating-point input, keyed by the method's name.
    public var isInputAttribution: Bool {
        switch self {
        case .saliency, .gradcam, .gradCAMPlusPlus, .layerCAM, .attentionRollout: false
        case .inputXGradient, .integratedGradients, .smoothGrad: true
        }
    }

    /// True for the class-activation maps (Grad-CAM and its variants): one map per selected layer,
    /// which must be spatial ([N, C, H, W], or a transformer's tokens on a patch grid).
    public var isClassActivationMap: Bool {
        switch self {
        case .gradcam, .gradCAMPlusPlus, .layerCAM: true
        case .saliency, .inputXGradient, .integratedGradients, .smoothGrad, .attentionRollout: false
        }
    }

    /// True for the methods that differentiate a target (all but attention rollout, which reads the
    /// attention probabilities of one forward pass and has no target).
    public var usesGradients: Bool { self != .attentionRollout }
}
