import Tensors

/// NumPy broadcasting for the operators that do not go through the float32 tensor kernels
/// (integer and boolean arithmetic, comparisons, `Where`, `Expand`): shapes, and for each output
/// element the offset it reads in an operand. These tensors are small (shape arithmetic) or the
/// operators are rare, so an explicit offset table is simple and fast enough.
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
        let pad = output.count - shape.count
        let own = Tensor.strides(for: shape)
        let strides = (0..<output.count).map { axis in axis < pad || shape[axis - pad] == 1 ? 0 : own[axis - pad] }
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

    /// `operation` over the broadcast of `a` and `b` read as `Element`.
    static func binary<Element: TensorElement, Result: TensorElement>(
        _ a: Tensor, _ b: Tensor, as type: Element.Type, node: ONNXNode, _ operation: (Element, Element) throws -> Result
    ) throws -> Tensor {
        let output = try shape([a.shape, b.shape], node: node)
        let left = offsets(of: a.shape, in: output), right = offsets(of: b.shape, in: output)
        let values: [Result] = try a.withUnsafeBufferPointer(as: Element.self) { x in
            try b.withUnsafeBufferPointer(as: Element.self) { y in
                try (0..<left.count).map { try operation(x[left[$0]], y[right[$0]]) }
            }
        }
        return Tensor(shape: output, elements: values)
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
