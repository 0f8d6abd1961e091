/// Which maps an attribution returns.
public enum AttributionMethod: String, Sendable, Equatable, Codable, CaseIterable {
    /// The raw gradient of the target with respect to every floating-point input (`input_grad`)
    /// and to each selected layer's activation (`grad:<layer>`). Take |·| (and the maximum over
    /// channels) for a classic saliency map.
    case saliency
    /// Grad-CAM for each selected layer (`gradcam:<layer>`): see `GradCAM`.
    case gradcam
}
