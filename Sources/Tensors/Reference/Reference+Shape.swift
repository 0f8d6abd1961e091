// Layout ops, one element at a time through multi-indices.

extension Reference {
    /// Result axis i is input axis `order[i]`.
    public static func permuted(_ x: Tensor, _ order: [Int]) -> Tensor {
        let order = order.map { $0 < 0 ? $0 + x.rank : $0 }
        let shape = order.map { x.shape[$0] }
        let values = x.toArray()
        var out = [Float](repeating: 0, count: values.count)
        for i in out.indices {
            let index = multiIndex(i, in: shape)
            var source = [Int](repeating: 0, count: x.rank)
            for (axis, from) in order.enumerated() { source[from] = index[axis] }
            out[i] = values[flatIndex(source, in: x.shape)]
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// Elements `range` along `axis`.
    public static func sliced(_ x: Tensor, axis: Int, _ range: Range<Int>) -> Tensor {
        let axis = axis < 0 ? axis + x.rank : axis
        var shape = x.shape
        shape[axis] = range.count
        let values = x.toArray()
        var out = [Float](repeating: 0, count: Tensor.elementCount(shape))
        for i in out.indices {
            var index = multiIndex(i, in: shape)
            index[axis] += range.lowerBound
            out[i] = values[flatIndex(index, in: x.shape)]
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// Tensors joined along `axis`.
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        let axis = axis < 0 ? axis + tensors[0].rank : axis
        var shape = tensors[0].shape
        shape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        let sources = tensors.map { $0.toArray() }
        var out = [Float](repeating: 0, count: Tensor.elementCount(shape))
        for i in out.indices {
            var index = multiIndex(i, in: shape)
            var piece = 0
            while index[axis] >= tensors[piece].shape[axis] { index[axis] -= tensors[piece].shape[axis]; piece += 1 }
            out[i] = sources[piece][flatIndex(index, in: tensors[piece].shape)]
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// Pieces of `sizes[i]` along `axis`.
    public static func split(_ x: Tensor, sizes: [Int], axis: Int) -> [Tensor] {
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return sliced(x, axis: axis, start..<(start + size))
        }
    }
}
