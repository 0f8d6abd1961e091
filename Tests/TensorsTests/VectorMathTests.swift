import Foundation
import Testing
import Tensors
import TestSupport
import VectorMath

/// The vectorized transcendental functions against Foundation's (in Double, i.e. the exact
/// value rounded once), over dense ranges that include the overflow/underflow edges.
@Suite struct VectorMathTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let lower: Float, upper: Float
        let maximumUlps: Double
        var testDescription: String { "\(name) on [\(lower), \(upper)]" }
    }

    static func fast(_ name: String, _ x: Tensor) -> Tensor {
        switch name {
        case "exp": x.exp()
        case "tanh": x.tanh()
        case "sigmoid": x.sigmoid()
        case "silu": x.silu()
        default: x.map { _ in .nan }
        }
    }

    static func exact(_ name: String, _ x: Double) -> Double {
        switch name {
        case "exp": Foundation.exp(x)
        case "tanh": Foundation.tanh(x)
        case "sigmoid": 1 / (1 + Foundation.exp(-x))
        case "silu": x / (1 + Foundation.exp(-x))
        default: .nan
        }
    }

    @Test(arguments: [
        Case(name: "exp", lower: -103, upper: 88.7, maximumUlps: 1),
        Case(name: "exp", lower: -1, upper: 1, maximumUlps: 1),
        Case(name: "tanh", lower: -12, upper: 12, maximumUlps: 2),
        Case(name: "tanh", lower: -0.7, upper: 0.7, maximumUlps: 2),
        Case(name: "sigmoid", lower: -80, upper: 80, maximumUlps: 3),
        Case(name: "silu", lower: -80, upper: 80, maximumUlps: 3),
    ])
    func matchesFoundationWithinUlps(_ c: Case) {
        let points = denseRange(c.lower, c.upper, count: 100_003)
        let result = Self.fast(c.name, Tensor(shape: [points.count], scalars: points)).toArray()
        var worst = 0.0, worstAt: Float = 0
        for (x, y) in zip(points, result) {
            let distance = ulpDistance(y, Self.exact(c.name, Double(x)))
            if distance > worst { worst = distance; worstAt = x }
        }
        #expect(worst <= c.maximumUlps, "\(c.name): \(worst) ulp at \(worstAt)")
    }

    @Test(arguments: [(Float(-5), Float(5)), (-0.01, 0.01), (-4.2, -3.8)])
    func erfWithinThreeUlps(_ range: (Float, Float)) {
        let points = denseRange(range.0, range.1, count: 30_011)
        var worst = 0.0
        for x in points { worst = Swift.max(worst, ulpDistance(VectorMath.erf(x), Foundation.erf(Double(x)))) }
        #expect(worst <= 3)
    }

    @Test func geluMatchesExactFormulaUpToTheCancellationOfOnePlusErf() {
        // 1 + erf(x/√2) cancels for negative x in float (in PyTorch too): allow ulp(1)·|x| absolute.
        for approximation in [GELUApproximation.none, .tanh] {
            let points = denseRange(-10, 10, count: 50_001)
            let result = Tensor(shape: [points.count], scalars: points).gelu(approximation: approximation).toArray()
            for (x, y) in zip(points, result) {
                let d = Double(x)
                let exact = approximation == .none
                    ? 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot()))
                    : 0.5 * d * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d)))
                let allowed = 4 * Double(Float(exact).magnitude.ulp) + 1.2e-7 * abs(d)
                if abs(Double(y) - exact) > allowed {
                    Issue.record("gelu \(approximation) at \(x): \(y) vs \(exact)")
                    return
                }
            }
        }
    }

    @Test func edgeValuesFollowIEEEAndPyTorch() {
        let inf = Float.infinity
        #expect(VectorMath.exp(inf) == inf)
        #expect(VectorMath.exp(-inf) == 0)
        #expect(VectorMath.exp(89) == inf)
        #expect(VectorMath.exp(-104) == 0)
        #expect(VectorMath.exp(0) == 1 && VectorMath.exp(-0.0) == 1)
        #expect(VectorMath.exp(-100) > 0 && VectorMath.exp(-100) < Float.leastNormalMagnitude)  // gradual underflow
        #expect(VectorMath.erf(inf) == 1 && VectorMath.erf(-inf) == -1)
        #expect(VectorMath.erf(-0.0).sign == .minus && VectorMath.erf(-0.0) == 0)
        #expect(VectorMath.tanh(inf) == 1 && VectorMath.tanh(-inf) == -1)
        #expect(VectorMath.tanh(-0.0).sign == .minus)
        #expect(VectorMath.tanh(1e-30) == 1e-30)
        #expect(VectorMath.sigmoid(inf) == 1 && VectorMath.sigmoid(-inf) == 0 && VectorMath.sigmoid(0) == 0.5)
        #expect(VectorMath.silu(inf) == inf)
        #expect(VectorMath.silu(-inf).isNaN)  // −inf / (1 + inf), as PyTorch
        #expect(VectorMath.geluTanh(inf) == inf)
        #expect(VectorMath.geluErf(-0.0) == 0)
        for f in [VectorMath.exp, VectorMath.erf, VectorMath.tanh, VectorMath.sigmoid, VectorMath.silu,
                  VectorMath.geluErf, VectorMath.geluTanh] as [(Float) -> Float] {
            #expect(f(.nan).isNaN)
        }
    }

    @Test func tailLanesGetTheSameValueAsFullVectors() {
        // 16 + 7 elements: the last 7 run through a partly filled vector.
        let values = denseRange(-3, 3, count: 23)
        let whole = Tensor(shape: [23], scalars: values).gelu().toArray()
        for (i, x) in values.enumerated() { #expect(whole[i] == VectorMath.geluErf(x)) }
    }
}
