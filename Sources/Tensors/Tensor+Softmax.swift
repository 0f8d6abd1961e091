import Foundation

extension Tensor {
    /// Numerically stable softmax along `axis`. `additiveMask` (broadcast to this shape) is added
    /// to the logits first, the way attention masks are applied (−∞ or a large negative value
    /// where masked). A row that is entirely −∞ gives zeros, not NaN.
    public func softmax(axis: Int = -1, additiveMask: Tensor? = nil) -> Tensor {
        precondition(dtype == .float32, "softmax: float32 expected, got \(dtype)")
        let logits = additiveMask.map { self + $0 } ?? self
        let axis = logits.normalizedAxis(axis)
        let moved = axis == logits.rank - 1 ? logits : logits.transposed(axis, -1)
        let inner = moved.shape.last ?? 1
        let rows = moved.count / Swift.max(inner, 1)
        var out = Tensor(uninitializedShape: moved.shape)
        out.withMutableFloats { o in
            moved.withFloats { x in
                for row in 0..<rows {
                    let src = x.baseAddress! + row * inner, dst = o.baseAddress! + row * inner
                    var maximum = -Float.infinity
                    for j in 0..<inner { maximum = Swift.max(maximum, src[j]) }
                    if maximum == -Float.infinity {
                        dst.update(repeating: 0, count: inner)
                        continue
                    }
                    var total: Double = 0
                    for j in 0..<inner {
                        let e = Foundation.exp(src[j] - maximum)
                        dst[j] = e
                        total += Double(e)
                    }
                    let scale = Float(1 / total)
                    for j in 0..<inner { dst[j] *= scale }
                }
            }
        }
        let result = axis == logits.rank - 1 ? out : out.transposed(axis, -1)
        let detachedResult = result.detached()
        return result.recordingGradient("softmax", inputs: [logits]) { g in
            // dx = y ⊙ (g − Σ(g ⊙ y))
            let dot = (g * detachedResult).sum(axes: [axis], keepingDimensions: true)
            return [detachedResult * (g - dot)]
        }
    }
}
