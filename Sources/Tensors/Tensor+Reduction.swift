// Reductions over axes. A set of adjacent axes is reduced in place as the middle of an
// (outer, reduced, inner) view (Kernels/ReductionKernels.swift); other axis sets are permuted
// to the end first. Naive twins: `Reference.sum`, `.mean`, `.max`, `.argmax`, `.l2Normalized`.

extension Tensor {
    /// The (outer, reduced, inner) view of reducing `axes`, the output shape, and the tensor to
    /// read (this one, or a permuted copy when the axes are not adjacent).
    private func reductionPlan(axes: [Int], keepingDimensions: Bool, name: String)
        -> (source: Tensor, outer: Int, reduced: Int, inner: Int, outShape: [Int], axes: [Int]) {
        precondition(dtype == .float32, "\(name): float32 tensor expected, got \(dtype) \(shape)")
        let normalized = Set(axes.map { normalizedAxis($0) }).sorted()
        let outShape = keepingDimensions ? shape.indices.map { normalized.contains($0) ? 1 : shape[$0] }
                                         : shape.indices.filter { !normalized.contains($0) }.map { shape[$0] }
        guard let first = normalized.first, let last = normalized.last else {
            return (self, count, 1, 1, outShape, normalized)
        }
        let reduced = normalized.map { shape[$0] }.reduce(1, *)
        if last - first + 1 == normalized.count {
            return (self, shape[..<first].reduce(1, *), reduced, shape[(last + 1)...].reduce(1, *), outShape, normalized)
        }
        let kept = (0..<rank).filter { !normalized.contains($0) }
        return (detached().permuted(kept + normalized), kept.map { shape[$0] }.reduce(1, *), reduced, 1, outShape, normalized)
    }

    /// The shape with the reduced axes kept as 1 (for broadcasting a result back).
    private func keptShape(_ axes: [Int]) -> [Int] {
        shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
    }

    public func sum(axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let plan = reductionPlan(axes: axes, keepingDimensions: keepingDimensions, name: "sum")
        let out = Tensor(uninitializedShape: plan.outShape)
        plan.source.withFloats { x in
            guard let x = x.baseAddress else { out.mutableFloatPointer.update(repeating: 0, count: out.count); return }
            sumKernel(out: out.mutableFloatPointer, x: x, outer: plan.outer, reduced: plan.reduced, inner: plan.inner)
        }
        let kept = keptShape(plan.axes)
        return out.recordingGradient("sum", inputs: [self]) { [shape] g in
            [g.reshaped(kept) + Tensor(zeros: shape)]
        }
    }

    /// Sum of all elements as a rank-0 tensor.
    public func sum() -> Tensor { sum(axes: Array(0..<rank)) }

    public func mean(axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let n = Set(axes.map { normalizedAxis($0) }).map { shape[$0] }.reduce(1, *)
        return sum(axes: axes, keepingDimensions: keepingDimensions) / Float(n)
    }

    public func mean() -> Tensor { mean(axes: Array(0..<rank)) }

    /// Maximum along `axes` (NaN propagates, as in PyTorch). The gradient is shared evenly
    /// between tied maxima (PyTorch's `amax`).
    public func max(axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let plan = reductionPlan(axes: axes, keepingDimensions: keepingDimensions, name: "max")
        precondition(plan.reduced > 0 || plan.outer * plan.inner == 0, "max: cannot reduce an empty axis of \(shape) over \(axes)")
        let out = Tensor(uninitializedShape: plan.outShape)
        plan.source.withFloats { x in
            guard let x = x.baseAddress else { return }
            maxKernel(out: out.mutableFloatPointer, x: x, outer: plan.outer, reduced: plan.reduced, inner: plan.inner)
        }
        let kept = keptShape(plan.axes), reducedAxes = plan.axes
        return out.recordingGradient("amax", inputs: [self]) { [self] g in
            let isMaximum = broadcastBinary(self.detached(), out.reshaped(kept)) { x, m in x == m ? 1 : 0 }
            let ties = isMaximum.sum(axes: reducedAxes, keepingDimensions: true)
            return [isMaximum * (g.reshaped(kept) / ties)]
        }
    }

    /// Index of the maximum along `axis` (first occurrence; NaN counts as the maximum), as int64.
    public func argmax(axis: Int, keepingDimensions: Bool = false) -> Tensor {
        let plan = reductionPlan(axes: [axis], keepingDimensions: keepingDimensions, name: "argmax")
        precondition(plan.reduced > 0, "argmax: axis \(axis) of \(shape) is empty")
        var out = Tensor(uninitializedShape: plan.outShape, dtype: .int64)
        out.withUnsafeMutableBufferPointer(as: Int64.self) { o in
            plan.source.withFloats { x in
                guard let x = x.baseAddress, let o = o.baseAddress else { return }
                argmaxKernel(out: o, x: x, outer: plan.outer, reduced: plan.reduced, inner: plan.inner)
            }
        }
        return out
    }

    /// The Euclidean norm √(Σ x²) over `axes` (PyTorch's `torch.linalg.vector_norm(x, 2, dim=axes)`).
    ///
    /// The gradient is x/‖x‖ and, like PyTorch's, 0 where the norm is 0 (the subgradient PyTorch
    /// picks), not the NaN that composing `(x * x).sum().sqrt()` gives there (∞ · 0).
    public func vectorNorm(axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let x = detached()
        let norm = GradMode.withDisabled { (x * x).sum(axes: axes, keepingDimensions: keepingDimensions).sqrt() }
        let kept = keptShape(axes.map { normalizedAxis($0) })
        return norm.recordingGradient("linalg_vector_norm", inputs: [self]) { g in
            // dx = x · g / ‖x‖ per reduced group, with g / ‖x‖ taken as 0 where ‖x‖ = 0.
            let scale = broadcastBinary(g.reshaped(kept), norm.reshaped(kept)) { gradient, n in n == 0 ? 0 : gradient / n }
            return [x * scale]
        }
    }

    /// `x / max(‖x‖₂, eps)` along `axis` (PyTorch's `F.normalize`); a zero row stays zero.
    public func l2Normalized(axis: Int = -1, epsilon: Float = 1e-12) -> Tensor {
        let plan = reductionPlan(axes: [axis], keepingDimensions: true, name: "l2Normalized")
        let out = Tensor(uninitializedShape: shape)
        withFloats { x in
            guard let x = x.baseAddress else { return }
            l2NormalizeKernel(out: out.mutableFloatPointer, x: x, outer: plan.outer, reduced: plan.reduced,
                              inner: plan.inner, epsilon: epsilon)
        }
        let reducedAxes = plan.axes
        return out.recordingGradient("l2_normalize", inputs: [self]) { [self] g in
            // y = x / n with n = max(‖x‖, eps). Where ‖x‖ > eps: dx = (g − y·Σ g·y) / n;
            // where the norm is clamped, n is constant: dx = g / eps.
            let x = self.detached(), y = out.detached()
            let norm = (x * x).sum(axes: reducedAxes, keepingDimensions: true).sqrt()
            let clamped = norm.map { Swift.max($0, epsilon) }
            let active = norm.map { $0 > epsilon ? 1 : 0 }
            let dot = (g * y).sum(axes: reducedAxes, keepingDimensions: true) * active
            return [(g - y * dot) / clamped]
        }
    }
}
