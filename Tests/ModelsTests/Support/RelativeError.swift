import Tensors
import TestSupport

/// max |actual − expected| / max |expected| (strictly relative, even for gradients far below 1);
/// infinity for a missing tensor, a shape mismatch or an all-zero reference.
func relativeError(_ actual: Tensor?, _ expected: Tensor) -> Float {
    guard let actual, let d = difference(actual, expected), d.referenceMaxMagnitude > 0 else { return .infinity }
    return d.maxAbsoluteError / d.referenceMaxMagnitude
}
