import Tensors

/// NumPy broadcasting for the operators that do not go through the float32 tensor kernels
/// (integer and boolean arithmetic, comparisons, `Where`, `Expand`): shapes, binary operators row by
/// row along the last axis, and for `Where` and `Expand` each output element's offset in an operand
/// (small tensors, or rare: an explicit offset table is simple and fast enough there).
enum ONNXBroadcast {
    /// The broadcast of `shapes`, or an error naming them.
    static func shape(_ shapes: [[Int]], node: ONNXNode) throws -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var result = [Int](repeating: 1, count: rank)
        for shape in shapes {
            for (index, dimension) in shape.enumerated() {
                let axis = index + rank - shape.count
                if dimension == result[axis] || dimension == 1 { continue }
                guard result[axis] == 1 else {
                    throw node.failure("shapes \(shapes.map { "\($0)" }.joined(separator: " and ")) do not broadcast")
                }
                result[axis] = dimension
            }
        }
        return result
    }

    /// For each element of `output` (row-major), the element of a tensor of `shape` it reads.
    static func offsets(of shape: [Int], in output: [Int]) -> [Int] {
        let count = output.reduce(1, *)
        if shape == output { return Array(0..<count) }
        let strides = strides(of: shape, in: output)
        var result = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: output.count)
        var offset = 0
        for position in 0..<count {
            result[position] = offset
            var axis = output.count - 1
            while axis >= 0 {
                index[axis] += 1
                offset += strides[axis]
                if index[axis] < output[axis] { break }
                offset -= strides[axis] * index[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return result
    }

    /// `operation` over the broadcast of `a` and `b` read as `Element`, row by row along the last axis
    /// (a bool attention mask [B, 1, L, S] built from [1, 1, L, 1] and [B, 1, 1, S] is B·L rows).
    static func binary<Element: TensorElement, Result: TensorElement>(
        _ a: Tensor, _ b: Tensor, as type: Element.Type, node: ONNXNode, _ operation: (Element, Element) throws -> Result
    ) throws -> Tensor {
        let output = try shape([a.shape, b.shape], node: node)
        let count = output.reduce(1, *)
        guard count > 0, let length = output.last else {
            // A scalar result, or an empty one.
            let values: [Result] = try a.withUnsafeBufferPointer(as: Element.self) { x in
                try b.withUnsafeBufferPointer(as: Element.self) { y in count == 0 ? [] : [try operation(x[0], y[0])] }
            }
            return Tensor(shape: output, elements: values)
        }
        let stridesA = strides(of: a.shape, in: output), stridesB = strides(of: b.shape, in: output)
        let innerA = stridesA[output.count - 1], innerB = stridesB[output.count - 1]
        var values = [Result]()
        values.reserveCapacity(count)
        try a.withUnsafeBufferPointer(as: Element.self) { x in
            try b.withUnsafeBufferPointer(as: Element.self) { y in
                var index = [Int](repeating: 0, count: output.count)
                var rowA = 0, rowB = 0
                for _ in 0..<(count / length) {
                    var offsetA = rowA, offsetB = rowB
                    for _ in 0..<length {
                        values.append(try operation(x[offsetA], y[offsetB]))
                        offsetA += innerA
                        offsetB += innerB
                    }
                    // The next row: advance the outer axes.
                    var axis = output.count - 2
                    while axis >= 0 {
                        index[axis] += 1
                        rowA += stridesA[axis]
                        rowB += stridesB[axis]
                        if index[axis] < output[axis] { break }
                        rowA -= stridesA[axis] * output[axis]
                        rowB -= stridesB[axis] * output[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return Tensor(shape: output, elements: values)
    }

    /// Element strides of a tensor of `shape` read as `output` (0 along broadcast axes).
    private static func strides(of shape: [Int], in output: [Int]) -> [Int] {
        let pad = output.count - shape.count
        let own = Tensor.strides(for: shape)
        return (0..<output.count).map { axis in axis < pad || shape[axis - pad] == 1 ? 0 : own[axis - pad] }
    }

    /// `tensor` repeated to `output` (which must be its broadcast), any dtype.
    static func expand(_ tensor: Tensor, to output: [Int]) -> Tensor {
        if tensor.shape == output { return tensor }
        let map = offsets(of: tensor.shape, in: output)
        let size = tensor.dtype.byteSize
        let storage = TensorStorage(byteCount: map.count * size)
        let source = tensor.rawPointer
        for (position, offset) in map.enumerated() {
            (storage.base + position * size).copyMemory(from: source + offset * size, byteCount: size)
        }
        return Tensor(shape: output, dtype: tensor.dtype, storage: storage)
    }
}
