import Foundation

/// How Integrated Gradients approximates its path integral: Captum's `method` names, points and
/// weights (`captum/attr/_utils/approximation_methods.py`).
public enum IntegrationRule: String, Sendable, Equatable, Codable, CaseIterable {
    case gaussLegendre = "gausslegendre"
    case riemannLeft = "riemann_left"
    case riemannRight = "riemann_right"
    case riemannMiddle = "riemann_middle"
    case riemannTrapezoid = "riemann_trapezoid"

    /// The interpolation coefficients α ∈ [0, 1] and their weights for `steps` points (Riemann rules
    /// need at least two, as in Captum).
    public func points(steps: Int) -> (alphas: [Double], weights: [Double]) {
        precondition(steps > 1 || (self == .gaussLegendre && steps > 0), "IntegrationRule: \(steps) steps are too few for \(rawValue)")
        let n = Double(steps)
        func linspace(_ start: Double, _ end: Double) -> [Double] {
            // torch.linspace in float32, read back as Python floats.
            (0..<steps).map { i in Double(Float(steps == 1 ? start : start + (end - start) * Double(i) / Double(steps - 1))) }
        }
        switch self {
        case .gaussLegendre:
            let (nodes, weights) = Self.legendre(steps)
            return (nodes.map { 0.5 * ($0 + 1) }, weights.map { 0.5 * $0 })
        case .riemannLeft: return (linspace(0, 1 - 1 / n), Array(repeating: 1 / n, count: steps))
        case .riemannRight: return (linspace(1 / n, 1), Array(repeating: 1 / n, count: steps))
        case .riemannMiddle: return (linspace(1 / (2 * n), 1 - 1 / (2 * n)), Array(repeating: 1 / n, count: steps))
        case .riemannTrapezoid:
            var weights = Array(repeating: 1 / n, count: steps)
            weights[0] /= 2
            weights[steps - 1] /= 2
            return (linspace(0, 1), weights)
        }
    }

    /// Gauss–Legendre nodes on [−1, 1] (ascending) and weights, by Newton's method on Pₙ — what
    /// numpy's `leggauss` returns to double precision.
    static func legendre(_ n: Int) -> (nodes: [Double], weights: [Double]) {
        var nodes = [Double](repeating: 0, count: n), weights = [Double](repeating: 0, count: n)
        for i in 0..<(n + 1) / 2 {
            var x = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            var derivative = 0.0
            for _ in 0..<100 {
                // P_n(x) and P_n'(x) by the three-term recurrence.
                var previous = 1.0, current = x
                if n == 1 { current = x } else {
                    for k in 2...n {
                        let next = (Double(2 * k - 1) * x * current - Double(k - 1) * previous) / Double(k)
                        previous = current
                        current = next
                    }
                }
                if n == 1 { previous = 1 }
                derivative = Double(n) * (x * current - previous) / (x * x - 1)
                let step = current / derivative
                x -= step
                if abs(step) < 1e-15 { break }
            }
            let weight = 2 / ((1 - x * x) * derivative * derivative)
            nodes[i] = -x
            nodes[n - 1 - i] = x
            weights[i] = weight
            weights[n - 1 - i] = weight
        }
        return (nodes, weights)
    }
}
