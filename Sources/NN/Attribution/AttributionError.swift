/// Why an attribution could not be computed (bad request values; the messages name the field).
public enum AttributionError: Error, Equatable, CustomStringConvertible {
    /// The target does not fit the model's output (rank, range) or names no layer that ran.
    case invalidTarget(AttributionTarget, reason: String)
    /// A class-activation map needs at least one layer.
    case noLayers
    /// A class-activation map needs a [N, C, H, W] activation (or a transformer's patch tokens).
    case notSpatial(layer: String, shape: [Int])
    /// Saliency without layers needs a floating-point input to differentiate.
    case noDifferentiableInput(inputs: [String])
    /// A gradient method without a target.
    case noTarget(AttributionMethod)
    /// The method does not apply to this model (attention rollout on a model without self-attention).
    case unsupportedModel(AttributionMethod, reason: String)

    public var description: String {
        switch self {
        case let .invalidTarget(target, reason): "invalid target \(target): \(reason)"
        case .noLayers: "gradcam, gradcam_plus_plus and layercam need at least one layer in \"layers\""
        case let .notSpatial(layer, shape):
            "gradcam needs a [N, C, H, W] activation (or a transformer's patch tokens), layer '\(layer)' has shape \(shape)"
        case let .noDifferentiableInput(inputs):
            "saliency needs a floating-point input or layers; inputs " + inputs.joined(separator: ", ") + " are all integer"
        case let .noTarget(method): "\(method.rawValue) needs a target"
        case let .unsupportedModel(method, reason): "\(method.rawValue) \(reason)"
        }
    }
}
