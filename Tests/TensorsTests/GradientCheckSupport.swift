import Tensors
import Testing

// Finite-difference gradient checks. For an op f and fixed random weights R shaped like its
// output, the loss L(x) = Σ f(x) ⊙ R is accumulated in Double; the engine's gradient of L
// (f(x).backward(gradient: R)) is compared with central differences
//   ∂L/∂x_k ≈ (L(x + ε e_k) − L(x − ε e_k)) / (x_k⁺ − x_k⁻),
// the denominator being the actual distance between the two perturbed float values.
// The error is max |analytic − numeric| over max(|numeric|, |analytic|), per input.

/// How the values of one input are drawn.
enum InputValues: Sendable {
    /// Uniform in [−scale, scale).
    case uniform(Float)
    /// Uniform in [low, high) (e.g. positive for sqrt, divisors, variances).
    case range(Float, Float)
    /// Uniform magnitudes in [0.2, scale) with random signs: no element near a kink at 0.
    case awayFromZero(Float)
    /// A shuffled grid with spacing `gap` centred on 0: distinct values, so a maximum keeps its
    /// winner under perturbation.
    case separated(gap: Float)
    /// These values, as float32.
    case values([Float])
    /// These exact values and dtype, never differentiated (indices, masks).
    case constant(Tensor)
}

/// One input of a checked op.
struct CheckedInput: Sendable {
    var shape: [Int]
    var values: InputValues
    /// Compare this input's gradient (false: constant input).
    var differentiable = true
    /// Store the input in this dtype (differences still taken in float32 steps).
    var dtype: DType = .float32

    static func input(_ shape: [Int], _ values: InputValues = .uniform(1), dtype: DType = .float32) -> CheckedInput {
        CheckedInput(shape: shape, values: values, differentiable: true, dtype: dtype)
    }

    static func constant(_ tensor: Tensor) -> CheckedInput {
        CheckedInput(shape: tensor.shape, values: .constant(tensor), differentiable: false)
    }

    static func constant(_ shape: [Int], _ values: InputValues) -> CheckedInput {
        CheckedInput(shape: shape, values: values, differentiable: false)
    }
}

/// A differentiable op under test: its inputs and how to compute it.
struct GradientCase: Sendable, CustomTestStringConvertible {
    let name: String
    let inputs: [CheckedInput]
    var epsilon: Float = 1e-2
    var tolerance: Double = 1e-3
    let function: @Sendable ([Tensor]) -> Tensor

    init(_ name: String, _ inputs: [CheckedInput], epsilon: Float = 1e-2, tolerance: Double = 1e-3,
         _ function: @escaping @Sendable ([Tensor]) -> Tensor) {
        self.name = name
        self.inputs = inputs
        self.epsilon = epsilon
        self.tolerance = tolerance
        self.function = function
    }

    var testDescription: String { name }
}

/// The outcome of checking one input of one case.
struct GradientCheckResult: CustomStringConvertible {
    var input: Int
    var maxError: Double
    var scale: Double
    var worstIndex: Int
    var analytic: Float
    var numeric: Double

    var relativeError: Double { scale < 1e-7 ? 0 : maxError / scale }

    var description: String {
        "input \(input): relative error \(relativeError) (max |Δ| \(maxError) at \(worstIndex): analytic \(analytic), numeric \(numeric); scale \(scale))"
    }
}

enum GradientCheck {
    /// The inputs of `testCase`, drawn from `seed`.
    static func makeInputs(_ testCase: GradientCase, seed: UInt64) -> [Tensor] {
        var generator = SeededGenerator(seed: seed)
        return testCase.inputs.map { spec in
            let count = Tensor.elementCount(spec.shape)
            let values: [Float]
            switch spec.values {
            case .uniform(let scale):
                values = (0..<count).map { _ in (generator.nextUnitFloat() * 2 - 1) * scale }
            case .range(let low, let high):
                values = (0..<count).map { _ in low + (high - low) * generator.nextUnitFloat() }
            case .awayFromZero(let scale):
                values = (0..<count).map { _ in
                    let magnitude = 0.2 + (scale - 0.2) * generator.nextUnitFloat()
                    return generator.next() & 1 == 0 ? magnitude : -magnitude
                }
            case .separated(let gap):
                var grid = (0..<count).map { (Float($0) - Float(count) / 2) * gap }
                grid.shuffle(using: &generator)
                values = grid
            case .values(let given):
                values = given
            case .constant(let tensor):
                return tensor
            }
            return Tensor(shape: spec.shape, scalars: values).to(spec.dtype)
        }
    }

    /// Σ output ⊙ weights in Double.
    static func loss(_ output: Tensor, weights: [Float]) -> Double {
        let values = output.toArray()
        var total: Double = 0
        for i in values.indices { total += Double(values[i]) * Double(weights[i]) }
        return total
    }

    /// Checks every differentiable input of `testCase`; returns one result per such input.
    static func run(_ testCase: GradientCase, seed: UInt64 = 0x5EED) throws -> [GradientCheckResult] {
        let inputs = makeInputs(testCase, seed: seed)
        var generator = SeededGenerator(seed: seed ^ 0xABCDEF)
        let probe = GradMode.withDisabled { testCase.function(inputs) }
        let weights = (0..<probe.count).map { _ in generator.nextUnitFloat() * 2 - 1 }
        let seedTensor = Tensor(shape: probe.shape, scalars: weights)

        // Analytic: the engine's gradients of Σ f ⊙ R.
        let leaves = inputs.enumerated().map { index, input -> Tensor in
            guard testCase.inputs[index].differentiable else { return input }
            var leaf = input
            leaf.requiresGrad = true
            return leaf
        }
        let output = testCase.function(leaves)
        try output.backward(gradient: seedTensor)

        var results: [GradientCheckResult] = []
        for (index, spec) in testCase.inputs.enumerated() where spec.differentiable {
            let analytic = leaves[index].grad?.toArray() ?? [Float](repeating: 0, count: inputs[index].count)
            let base = inputs[index].toArray()
            var result = GradientCheckResult(input: index, maxError: 0, scale: 0, worstIndex: 0, analytic: 0, numeric: 0)
            for k in base.indices {
                func evaluate(_ value: Float) -> (loss: Double, actual: Float) {
                    var perturbed = base
                    perturbed[k] = value
                    let tensor = Tensor(shape: spec.shape, scalars: perturbed).to(spec.dtype)
                    var arguments = inputs
                    arguments[index] = tensor
                    let actual = tensor.toArray()[k]
                    return (GradMode.withDisabled { loss(testCase.function(arguments), weights: weights) }, actual)
                }
                let plus = evaluate(base[k] + testCase.epsilon), minus = evaluate(base[k] - testCase.epsilon)
                let numeric = (plus.loss - minus.loss) / (Double(plus.actual) - Double(minus.actual))
                let error = abs(Double(analytic[k]) - numeric)
                result.scale = max(result.scale, abs(numeric), Double(abs(analytic[k])))
                if error > result.maxError || error.isNaN {
                    (result.maxError, result.worstIndex, result.analytic, result.numeric) = (error, k, analytic[k], numeric)
                }
            }
            results.append(result)
        }
        return results
    }

    /// Runs `testCase` and records an issue for each input over tolerance.
    static func expectAgrees(_ testCase: GradientCase, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let results = try run(testCase)
            #expect(!results.isEmpty, "\(testCase.name): nothing to check", sourceLocation: sourceLocation)
            for result in results {
                #expect(result.relativeError <= testCase.tolerance && !result.maxError.isNaN, "\(testCase.name): \(result)",
                        sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("\(testCase.name): backward failed: \(error)", sourceLocation: sourceLocation)
        }
    }
}
