import Tensors

/// How far apart two tensors are, in the terms the fixtures' README uses.
public struct TensorDifference: CustomStringConvertible, Sendable {
    public var maxAbsoluteError: Float
    public var referenceMaxMagnitude: Float
    public var worstIndex: Int

    /// Error relative to the reference's largest magnitude, or absolute when that is below 1.
    public var scaledError: Float { maxAbsoluteError / max(referenceMaxMagnitude, 1) }

    public var description: String {
        "max |Δ| = \(maxAbsoluteError) at \(worstIndex), reference max |x| = \(referenceMaxMagnitude), scaled = \(scaledError)"
    }
}

/// Compares `actual` with `expected` elementwise; shapes must match (returns nil otherwise).
public func difference(_ actual: Tensor, _ expected: Tensor) -> TensorDifference? {
    guard actual.shape == expected.shape else { return nil }
    let a = actual.toArray(), e = expected.toArray()
    var worst: Float = 0, worstIndex = 0, magnitude: Float = 0
    for i in a.indices {
        magnitude = max(magnitude, abs(e[i]))
        let delta = abs(a[i] - e[i])
        if delta > worst || (delta.isNaN && !worst.isNaN) { worst = delta; worstIndex = i }
    }
    return TensorDifference(maxAbsoluteError: worst, referenceMaxMagnitude: magnitude, worstIndex: worstIndex)
}

/// True when shapes match and every element is within `tolerance` × max(1, max |expected|).
public func isClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float = 1e-4) -> Bool {
    guard let d = difference(actual, expected) else { return false }
    return d.scaledError <= tolerance
}

/// A reproducible random float32 tensor with values in [-1, 1).
public func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return Tensor.uniform(shape, in: -1...1, using: &generator)
}
