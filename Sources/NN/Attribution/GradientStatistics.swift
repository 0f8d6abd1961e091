import Tensors

/// Summary statistics of the magnitudes |g| of one gradient tensor (the gradient inspector's
/// per-layer figures). Sums run in Double; non-finite elements are counted and left out of the
/// other figures.
public struct GradientStatistics: Sendable, Equatable, Codable {
    /// Elements in the gradient.
    public var count: Int
    /// Mean of |g| over the finite elements.
    public var mean: Double
    /// Population standard deviation of |g| over the finite elements.
    public var standardDeviation: Double
    /// Largest |g| among the finite elements (0 when there are none).
    public var maximum: Double
    /// Smallest |g| among the finite elements (0 when there are none).
    public var minimum: Double
    /// Elements that are NaN or ±∞.
    public var nonFiniteCount: Int

    /// The statistics of `gradient`'s elements.
    public init(of gradient: Tensor) {
        let values = gradient.toArray()
        var sum = 0.0, sumOfSquares = 0.0, largest = 0.0, smallest = Double.infinity, finite = 0
        for value in values {
            guard value.isFinite else { continue }
            let magnitude = Double(value.magnitude)
            finite += 1
            sum += magnitude
            sumOfSquares += magnitude * magnitude
            largest = Swift.max(largest, magnitude)
            smallest = Swift.min(smallest, magnitude)
        }
        count = values.count
        nonFiniteCount = values.count - finite
        mean = finite > 0 ? sum / Double(finite) : 0
        standardDeviation = finite > 0 ? Swift.max(sumOfSquares / Double(finite) - mean * mean, 0).squareRoot() : 0
        maximum = largest
        minimum = finite > 0 ? smallest : 0
    }

    public init(count: Int, mean: Double, standardDeviation: Double, maximum: Double, minimum: Double, nonFiniteCount: Int) {
        self.count = count
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.maximum = maximum
        self.minimum = minimum
        self.nonFiniteCount = nonFiniteCount
    }
}
