import Foundation
import Tensors

/// Parameter initializers (PyTorch's `torch.nn.init`), drawing from the current thread's random
/// generator (`RandomState`, `withRandomSeed`). Each replaces the box's value with a new float32
/// tensor of the same shape.
public enum Initializers {
    /// Which fan `kaimingUniform`/`kaimingNormal` preserve the variance of.
    public enum FanMode: String, Sendable {
        case fanIn = "fan_in"
        case fanOut = "fan_out"
    }

    /// The nonlinearities `calculateGain` knows (PyTorch's `calculate_gain`).
    public enum Nonlinearity: Sendable, Equatable {
        case linear, conv1d, conv2d, conv3d, sigmoid, tanh, relu, selu
        /// Leaky ReLU with `negativeSlope` (PyTorch's default 0.01).
        case leakyReLU(negativeSlope: Float = 0.01)
    }

    /// The recommended gain for `nonlinearity`: 1 for linear/conv/sigmoid, 5/3 for tanh, √2 for
    /// ReLU, √(2 / (1 + slope²)) for leaky ReLU, 3/4 for SELU.
    public static func gain(_ nonlinearity: Nonlinearity) -> Float {
        switch nonlinearity {
        case .linear, .conv1d, .conv2d, .conv3d, .sigmoid: 1
        case .tanh: 5.0 / 3
        case .relu: Float(2).squareRoot()
        case .selu: 0.75
        case .leakyReLU(let slope): (2 / (1 + slope * slope)).squareRoot()
        }
    }

    /// `(fan_in, fan_out)` of a weight shape: dimension 1 and 0 times the receptive field
    /// (PyTorch's `_calculate_fan_in_and_fan_out`; needs at least 2 dimensions).
    public static func fans(of shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "fans: need at least 2 dimensions, got shape \(shape)")
        let receptiveField = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptiveField, shape[0] * receptiveField)
    }

    // MARK: - Skipping

    private static let skipsRandomValues = ThreadLocal<Bool>(default: { false })

    /// Runs `body` (building a module tree) with the random initializers switched off on this
    /// thread: `uniform`, `normal`, `truncatedNormal` and the schemes built on them leave each value
    /// as the layer created it (zeros), and draw nothing from the generator. For trees whose weights
    /// are about to be loaded — replicas, key listings — where sampling millions of values is waste
    /// (PyTorch's `skip_init` / meta-device construction).
    public static func withoutRandomValues<Result>(_ body: () throws -> Result) rethrows -> Result {
        try skipsRandomValues.withValue(true, body)
    }

    // MARK: - Plain distributions

    /// U(range.lowerBound, range.upperBound).
    public static func uniform(_ box: some TensorBox, in range: ClosedRange<Float> = 0...1) {
        if skipsRandomValues.value { return }
        let shape = box.value.shape
        box.value = RandomState.withGenerator { Tensor.uniform(shape, in: range, using: &$0) }
    }

    /// N(mean, standardDeviation²).
    public static func normal(_ box: some TensorBox, mean: Float = 0, standardDeviation: Float = 1) {
        if skipsRandomValues.value { return }
        let shape = box.value.shape
        box.value = RandomState.withGenerator { Tensor.normal(shape, mean: mean, standardDeviation: standardDeviation, using: &$0) }
    }

    /// N(mean, standardDeviation²) restricted to [lower, upper] (absolute bounds, like PyTorch's
    /// `trunc_normal_`), sampled by inverting the normal CDF over the allowed interval.
    public static func truncatedNormal(_ box: some TensorBox, mean: Float = 0, standardDeviation: Float = 1,
                                       lower: Float = -2, upper: Float = 2) {
        precondition(lower < upper, "truncatedNormal: lower \(lower) must be below upper \(upper)")
        if skipsRandomValues.value { return }
        let shape = box.value.shape
        let cdf = { (x: Double) in 0.5 * (1 + erf(x / 2.0.squareRoot())) }
        let low = cdf(Double((lower - mean) / standardDeviation)), high = cdf(Double((upper - mean) / standardDeviation))
        let scalars: [Float] = RandomState.withGenerator { generator in
            (0..<Tensor.elementCount(shape)).map { _ in
                let u = low + (high - low) * Double(generator.nextUnitFloat())
                let x = inverseErf(2 * u - 1) * 2.0.squareRoot() * Double(standardDeviation) + Double(mean)
                return Swift.min(Swift.max(Float(x), lower), upper)
            }
        }
        box.value = Tensor(shape: shape, scalars: scalars)
    }

    /// Every element `value`.
    public static func constant(_ box: some TensorBox, _ value: Float) {
        box.value = Tensor(shape: box.value.shape, repeating: value)
    }

    public static func zeros(_ box: some TensorBox) { constant(box, 0) }

    public static func ones(_ box: some TensorBox) { constant(box, 1) }

    // MARK: - Variance-preserving schemes

    /// Glorot uniform: U(−b, b) with b = gain·√(6 / (fan_in + fan_out)).
    public static func xavierUniform(_ box: some TensorBox, gain: Float = 1) {
        let (fanIn, fanOut) = fans(of: box.value.shape)
        let bound = gain * (6 / Float(fanIn + fanOut)).squareRoot()
        uniform(box, in: -bound...bound)
    }

    /// Glorot normal: N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out)).
    public static func xavierNormal(_ box: some TensorBox, gain: Float = 1) {
        let (fanIn, fanOut) = fans(of: box.value.shape)
        normal(box, standardDeviation: gain * (2 / Float(fanIn + fanOut)).squareRoot())
    }

    /// He uniform: U(−b, b) with b = √3 · gain / √fan (PyTorch's defaults: `a = 0`, fan_in,
    /// leaky ReLU, whose gain with slope `a` is √(2 / (1 + a²))). Linear and Conv use `a = √5`.
    public static func kaimingUniform(_ box: some TensorBox, a: Float = 0, mode: FanMode = .fanIn,
                                      nonlinearity: Nonlinearity = .leakyReLU()) {
        let bound = Float(3).squareRoot() * kaimingStandardDeviation(box.value.shape, a: a, mode: mode, nonlinearity: nonlinearity)
        uniform(box, in: -bound...bound)
    }

    /// He normal: N(0, σ²) with σ = gain / √fan.
    public static func kaimingNormal(_ box: some TensorBox, a: Float = 0, mode: FanMode = .fanIn,
                                     nonlinearity: Nonlinearity = .leakyReLU()) {
        normal(box, standardDeviation: kaimingStandardDeviation(box.value.shape, a: a, mode: mode, nonlinearity: nonlinearity))
    }

    private static func kaimingStandardDeviation(_ shape: [Int], a: Float, mode: FanMode, nonlinearity: Nonlinearity) -> Float {
        let (fanIn, fanOut) = fans(of: shape)
        let fan = mode == .fanIn ? fanIn : fanOut
        precondition(fan > 0, "kaiming init: zero-element weight \(shape)")
        // The slope of leaky ReLU is `a`, as in PyTorch's `calculate_gain(nonlinearity, a)`.
        let effective: Nonlinearity = if case .leakyReLU = nonlinearity { .leakyReLU(negativeSlope: a) } else { nonlinearity }
        return gain(effective) / Float(fan).squareRoot()
    }

    /// The bias rule of Linear and Conv: U(−1/√fan_in, 1/√fan_in), zeros when fan_in is 0.
    public static func fanInUniform(_ box: some TensorBox, fanIn: Int) {
        let bound: Float = fanIn > 0 ? 1 / Float(fanIn).squareRoot() : 0
        uniform(box, in: -bound...bound)
    }
}

/// erf⁻¹ on (−1, 1): Giles' single-precision approximation refined by two Newton steps.
private func inverseErf(_ y: Double) -> Double {
    if y <= -1 { return -.infinity }
    if y >= 1 { return .infinity }
    var w = -log((1 - y) * (1 + y))
    var x: Double
    if w < 5 {
        w -= 2.5
        var p = 2.81022636e-08
        p = 3.43273939e-07 + p * w; p = -3.5233877e-06 + p * w; p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w; p = -0.00125372503 + p * w; p = -0.00417768164 + p * w
        p = 0.246640727 + p * w; p = 1.50140941 + p * w
        x = p * y
    } else {
        w = w.squareRoot() - 3
        var p = -0.000200214257
        p = 0.000100950558 + p * w; p = 0.00134934322 + p * w; p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w; p = -0.0076224613 + p * w; p = 0.00943887047 + p * w
        p = 1.00167406 + p * w; p = 2.83297682 + p * w
        x = p * y
    }
    for _ in 0..<2 {
        let error = erf(x) - y
        x -= error / (2 / Double.pi.squareRoot() * exp(-x * x))
    }
    return x
}
