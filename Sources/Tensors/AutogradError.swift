/// Why a backward pass could not run.
public enum AutogradError: Error, Equatable, CustomStringConvertible {
    /// `backward()` on a tensor that is not part of a graph (nothing it came from requires grad,
    /// or it was computed with recording off).
    case notTracked(shape: [Int])
    /// `backward()` without a seed on a tensor with more than one element.
    case seedRequired(shape: [Int])
    /// The seed's shape differs from the tensor's.
    case seedShapeMismatch(expected: [Int], got: [Int])
    /// The graph passes through an op recorded without a backward function.
    case backwardNotImplemented(operation: String)
    /// The graph through this op was already released by an earlier backward pass
    /// (pass `retainGraph: true` to run backward more than once).
    case graphReleased(operation: String)
    /// The project was built with `-D PERISCOPE_NO_AUTOGRAD`: nothing is ever recorded.
    case compiledOut

    public var description: String {
        switch self {
        case let .notTracked(shape):
            "backward: the tensor \(shape) does not require grad and has no gradient graph"
        case let .seedRequired(shape):
            "backward: a gradient seed is required for the non-scalar tensor \(shape)"
        case let .seedShapeMismatch(expected, got):
            "backward: the seed has shape \(got), the tensor \(expected)"
        case let .backwardNotImplemented(operation):
            "backward: op '\(operation)' was recorded without a backward function"
        case let .graphReleased(operation):
            "backward: the graph through op '\(operation)' was already released by a previous backward pass (use retainGraph: true)"
        case .compiledOut:
            "backward: autograd is compiled out of this build (PERISCOPE_NO_AUTOGRAD)"
        }
    }
}
