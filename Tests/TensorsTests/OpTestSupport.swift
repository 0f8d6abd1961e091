import Foundation
import Tensors
import TestSupport

// Helpers shared by the op tests: exact comparison, ulp distance, gradients through the engine
// (to check fused ops' backward closures against composed ops), and random tensors.

/// True when both tensors have the same shape and bitwise-equal elements (NaN equals NaN).
func identical(_ a: Tensor, _ b: Tensor) -> Bool {
    guard a.shape == b.shape else { return false }
    return zip(a.toArray(), b.toArray()).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) || $0 == $1 }
}

/// Distance of `actual` from the exact `expected` in units in the last place of the float
/// nearest `expected` (subnormal results count in units of the smallest subnormal).
func ulpDistance(_ actual: Float, _ expected: Double) -> Double {
    if actual.isNaN || expected.isNaN { return actual.isNaN && expected.isNaN ? 0 : .infinity }
    let rounded = Float(expected)
    if actual.isInfinite || rounded.isInfinite { return actual == rounded ? 0 : .infinity }
    return abs(Double(actual) - expected) / Double(rounded.magnitude.ulp)
}

/// `count` evenly spaced floats from `lower` to `upper`.
func denseRange(_ lower: Float, _ upper: Float, count: Int) -> [Float] {
    (0..<count).map { lower + (upper - lower) * Float($0) / Float(count - 1) }
}

/// A random tensor with values in [-scale, scale).
func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return Tensor.uniform(shape, in: -scale...scale, using: &generator)
}

/// Gradients of Σ(output ⊙ seed) with respect to each of `leaves` (nil when the output is not
/// tracked or the pass fails), through the engine's `Tensor.gradients(of:withRespectTo:)`.
func gradients(of output: Tensor, seed: Tensor, withRespectTo leaves: [Tensor]) -> [Tensor?] {
    guard let result = try? Tensor.gradients(of: output, withRespectTo: leaves, seed: seed) else {
        return leaves.map { _ in nil }
    }
    return result.map { Optional($0) }
}

/// A copy of `tensor` marked as an autograd leaf.
func leaf(_ tensor: Tensor) -> Tensor {
    var copy = tensor.detachedCopy()
    copy.requiresGrad = true
    return copy
}

/// Expects `actual` close to `expected` (scaled error, see `isClose`), reporting the difference.
func expectClose(_ actual: Tensor?, _ expected: Tensor?, tolerance: Float = 1e-5,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard let actual, let expected else {
        Issue.record("missing tensor: actual \(actual.map { "\($0.shape)" } ?? "nil"), expected \(expected.map { "\($0.shape)" } ?? "nil")",
                     sourceLocation: sourceLocation)
        return
    }
    let d = difference(actual, expected)
    #expect(d != nil && d!.scaledError <= tolerance,
            "shapes \(actual.shape) vs \(expected.shape): \(d.map { "\($0)" } ?? "shape mismatch")",
            sourceLocation: sourceLocation)
}

import Testing
