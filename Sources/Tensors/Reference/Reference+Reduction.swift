import Foundation

// Reductions: every output element walks the input and picks the elements it covers.

extension Reference {
    /// Output shape of a reduction over `axes` (normalized, possibly negative on input).
    static func reducedShape(_ shape: [Int], axes: Set<Int>, keepingDimensions: Bool) -> [Int] {
        keepingDimensions ? shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
                          : shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
    }

    static func normalizedAxes(_ axes: [Int], rank: Int) -> Set<Int> {
        Set(axes.map { $0 < 0 ? $0 + rank : $0 })
    }

    /// Visits every input element as (output flat index, value).
    static func forEachReduced(_ x: Tensor, axes: Set<Int>, _ body: (Int, Float) -> Void) {
        let values = x.toArray()
        let kept = x.shape.indices.map { axes.contains($0) ? 1 : x.shape[$0] }
        for i in values.indices {
            var index = multiIndex(i, in: x.shape)
            for axis in axes { index[axis] = 0 }
            body(flatIndex(index, in: kept), values[i])
        }
    }

    public static func sum(_ x: Tensor, axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes, rank: x.rank)
        let shape = reducedShape(x.shape, axes: axes, keepingDimensions: keepingDimensions)
        var totals = [Double](repeating: 0, count: Tensor.elementCount(shape))
        forEachReduced(x, axes: axes) { totals[$0] += Double($1) }
        return Tensor(shape: shape, scalars: totals.map { Float($0) })
    }

    public static func mean(_ x: Tensor, axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes, rank: x.rank)
        let n = Double(axes.map { x.shape[$0] }.reduce(1, *))
        let shape = reducedShape(x.shape, axes: axes, keepingDimensions: keepingDimensions)
        var totals = [Double](repeating: 0, count: Tensor.elementCount(shape))
        forEachReduced(x, axes: axes) { totals[$0] += Double($1) }
        return Tensor(shape: shape, scalars: totals.map { Float($0 / n) })
    }

    /// Maximum over `axes`; any NaN makes the result NaN.
    public static func max(_ x: Tensor, axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes, rank: x.rank)
        let shape = reducedShape(x.shape, axes: axes, keepingDimensions: keepingDimensions)
        var best = [Float](repeating: -.infinity, count: Tensor.elementCount(shape))
        forEachReduced(x, axes: axes) { i, v in
            if best[i].isNaN { return }
            if v.isNaN || v > best[i] { best[i] = v }
        }
        return Tensor(shape: shape, scalars: best)
    }

    /// Index of the first maximum along `axis`; NaN counts as the maximum (first NaN wins).
    public static func argmax(_ x: Tensor, axis: Int, keepingDimensions: Bool = false) -> Tensor {
        let axis = axis < 0 ? axis + x.rank : axis
        let shape = reducedShape(x.shape, axes: [axis], keepingDimensions: keepingDimensions)
        let count = Tensor.elementCount(shape)
        var best = [Float](repeating: -.infinity, count: count), index = [Int64](repeating: -1, count: count)
        let values = x.toArray()
        let kept = x.shape.indices.map { $0 == axis ? 1 : x.shape[$0] }
        for i in values.indices {
            var position = multiIndex(i, in: x.shape)
            let r = position[axis]
            position[axis] = 0
            let o = flatIndex(position, in: kept)
            let v = values[i]
            if index[o] < 0 || (!best[o].isNaN && (v.isNaN || v > best[o])) { best[o] = v; index[o] = Int64(r) }
        }
        return Tensor(shape: shape, elements: index)
    }

    /// x / max(‖x‖₂, eps) along `axis`.
    public static func l2Normalized(_ x: Tensor, axis: Int = -1, epsilon: Float = 1e-12) -> Tensor {
        let axis = axis < 0 ? axis + x.rank : axis
        let squares = Tensor(shape: x.shape, scalars: x.toArray().map { $0 * $0 })
        let norms = sum(squares, axes: [axis], keepingDimensions: true).toArray().map { Swift.max(Foundation.sqrt($0), epsilon) }
        let keptShape = x.shape.indices.map { $0 == axis ? 1 : x.shape[$0] }
        return binary(x, Tensor(shape: keptShape, scalars: norms), /)
    }
}
