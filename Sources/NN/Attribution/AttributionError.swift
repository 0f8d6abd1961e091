/// Why an attribution could not be computed (bad request values; the messages name the field).
public enum AttributionError: Error, Equatable, CustomStringConvertible {
    /// The target does not fit the model's output (rank, range) or names no layer that ran.
    case invalidTarget(AttributionTarget, reason: String)
    /// Grad-CAM needs at least one layer.
    case noLayers
    /// Grad-CAM needs a [N, C, H, W] activation.
    case notSpatial(layer: String, shape: [Int])
    /// Saliency without layers needs a floating-point input to differentiate.
    case noDifferentiableInput(inputs: [String])

    public var description: String {
        switch self {
        case let .invalidTarget(target, reason): "invalid target \(target): \(reason)"
        case .noLayers: "gradcam needs at least one layer in \"layers\""
        case let .notSpatial(layer, shape):
            "gradcam needs a [N, C, H, W] activation, layer '\(layer)' has shape \(shape)"
        case let .noDifferentiableInput(inputs):
            "saliency needs a floating-point input or layers; inputs " + inputs.joined(separator: ", ") + " are all integer"
        }
    }
}
