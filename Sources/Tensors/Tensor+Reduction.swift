import Foundation

// Reductions over axes. Sums accumulate in Double in the reference kernels: these are also the
// references fast kernels are checked against.

extension Tensor {
    /// Splits `shape` around a set of reduced axes into (outer, reduced, inner) loops when the
    /// axes are contiguous; general axis sets are handled by permuting them to the end first.
    private func reduce(axes: [Int], keepingDimensions: Bool,
                        _ kernel: (UnsafePointer<Float>, Int, Int, Int, UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        precondition(dtype == .float32, "reduction: float32 tensor expected, got \(dtype)")
        let normalized = Set(axes.map { normalizedAxis($0) }).sorted()
        let keptShape = shape.enumerated().map { normalized.contains($0.offset) ? 1 : $0.element }
        let outShape = keepingDimensions ? keptShape : shape.enumerated().filter { !normalized.contains($0.offset) }.map(\.element)
        if normalized.isEmpty { return self.reshaped(outShape) }
        // Move reduced axes last: then the reduction is (outer, reduced, inner = 1).
        let contiguous = normalized.last! - normalized.first! + 1 == normalized.count
        let source: Tensor
        let outer: Int, reduced: Int, inner: Int
        if contiguous {
            source = self
            outer = shape[..<normalized.first!].reduce(1, *)
            reduced = normalized.map { shape[$0] }.reduce(1, *)
            inner = shape[(normalized.last! + 1)...].reduce(1, *)
        } else {
            let kept = (0..<rank).filter { !normalized.contains($0) }
            source = permuted(kept + normalized)
            outer = kept.map { shape[$0] }.reduce(1, *)
            reduced = normalized.map { shape[$0] }.reduce(1, *)
            inner = 1
        }
        var out = Tensor(uninitializedShape: outShape)
        out.withMutableFloats { o in
            source.withFloats { x in kernel(x.baseAddress!, outer, reduced, inner, o.baseAddress!) }
        }
        return out
    }

    public func sum(axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let out = reduce(axes: axes, keepingDimensions: keepingDimensions) { x, outer, reduced, inner, o in
            for a in 0..<outer {
                for c in 0..<inner {
                    var total: Double = 0
                    for r in 0..<reduced { total += Double(x[(a * reduced + r) * inner + c]) }
                    o[a * inner + c] = Float(total)
                }
            }
        }
        return out.recordingGradient("sum", inputs: [self]) { [shape] g in
            let kept = shape.enumerated().map { axes.map { self.normalizedAxis($0) }.contains($0.offset) ? 1 : $0.element }
            return [g.reshaped(kept) + Tensor(zeros: shape)]
        }
    }

    /// Sum of all elements as a rank-0 tensor.
    public func sum() -> Tensor { sum(axes: Array(0..<rank)) }

    public func mean(axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let n = axes.map { shape[normalizedAxis($0)] }.reduce(1, *)
        return sum(axes: axes, keepingDimensions: keepingDimensions) * (1 / Float(n))
    }

    public func mean() -> Tensor { mean(axes: Array(0..<rank)) }

    /// Maximum along `axes` (NaN propagates, as in PyTorch).
    public func max(axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        reduce(axes: axes, keepingDimensions: keepingDimensions) { x, outer, reduced, inner, o in
            for a in 0..<outer {
                for c in 0..<inner {
                    var best = -Float.infinity
                    for r in 0..<reduced {
                        let v = x[(a * reduced + r) * inner + c]
                        if v > best || v.isNaN { best = v; if v.isNaN { break } }
                    }
                    o[a * inner + c] = best
                }
            }
        }
    }

    /// Index of the maximum along `axis` (first occurrence), as int64.
    public func argmax(axis: Int, keepingDimensions: Bool = false) -> Tensor {
        let axis = normalizedAxis(axis)
        let outer = shape[..<axis].reduce(1, *), reduced = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var outShape = shape
        if keepingDimensions { outShape[axis] = 1 } else { outShape.remove(at: axis) }
        var out = Tensor(uninitializedShape: outShape, dtype: .int64)
        out.withUnsafeMutableBufferPointer(as: Int64.self) { o in
            withFloats { x in
                for a in 0..<outer {
                    for c in 0..<inner {
                        var best = -Float.infinity, bestIndex = 0
                        for r in 0..<reduced {
                            let v = x[(a * reduced + r) * inner + c]
                            if v > best || (v.isNaN && !best.isNaN) { best = v; bestIndex = r }
                        }
                        o[a * inner + c] = Int64(bestIndex)
                    }
                }
            }
        }
        return out
    }

    /// `x / max(‖x‖₂, eps)` along `axis` (PyTorch's `F.normalize`).
    public func l2Normalized(axis: Int = -1, epsilon: Float = 1e-12) -> Tensor {
        let norm = (self * self).sum(axes: [axis], keepingDimensions: true).sqrt()
        let clamped = norm.map { Swift.max($0, epsilon) }.recordingGradient("clamp_min", inputs: [norm]) { g in
            [broadcastBinary(g, norm.detached()) { grad, n in n > epsilon ? grad : 0 }]
        }
        return self / clamped
    }
}
