import Tensors

// Shape and layout operators: every dtype, views where the layout allows (Reshape, Flatten,
// Squeeze, Unsqueeze share storage), copies otherwise.

extension ONNXOperators {
    static func shapeOperator(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let shape = try input(inputs, 0, node).shape
        let rank = shape.count
        func clamp(_ value: Int) -> Int { Swift.min(Swift.max(value < 0 ? value + rank : value, 0), rank) }
        let start = clamp(try node.int("start", default: 0)), end = clamp(try node.int("end", default: rank))
        let dims = start < end ? Array(shape[start..<end]) : []
        return Tensor(shape: [dims.count], elements: dims.map { Int64($0) })
    }

    static func reshape(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try input(inputs, 0, node)
        var shape = try integers(try input(inputs, 1, node), node)
        let allowZero = try node.int("allowzero", default: 0) != 0
        for (index, dimension) in shape.enumerated() where dimension == 0 && !allowZero {
            guard index < x.rank else { throw node.failure("shape \(shape) copies dimension \(index) of a rank-\(x.rank) input") }
            shape[index] = x.shape[index]
        }
        return try reshaped(x, to: shape, node)
    }

    /// `x` viewed as `shape` (one −1 inferred), or an error naming both shapes.
    static func reshaped(_ x: Tensor, to shape: [Int], _ node: ONNXNode) throws -> Tensor {
        let inferred = shape.indices.filter { shape[$0] == -1 }
        guard inferred.count <= 1, shape.allSatisfy({ $0 >= -1 }) else { throw node.failure("invalid shape \(shape)") }
        var resolved = shape
        let known = shape.filter { $0 != -1 }.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? -1 : $0 * $1 }
        if let axis = inferred.first {
            guard known > 0, x.count % known == 0 else { throw node.failure("cannot reshape \(x.shape) to \(shape)") }
            resolved[axis] = x.count / known
        } else {
            guard known == x.count else { throw node.failure("cannot reshape \(x.shape) to \(shape)") }
        }
        return x.reshaped(resolved)
    }

    static func flatten(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try input(inputs, 0, node)
        var axis = try node.int("axis", default: 1)
        guard axis >= -x.rank && axis <= x.rank else { throw node.failure("axis \(axis) is out of range for rank \(x.rank)") }
        if axis < 0 { axis += x.rank }
        return x.reshaped([x.shape[..<axis].reduce(1, *), x.shape[axis...].reduce(1, *)])
    }

    static func transpose(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try input(inputs, 0, node)
        let order = try node.ints("perm") ?? Array((0..<x.rank).reversed())
        guard order.count == x.rank, Set(order) == Set(0..<x.rank) else { throw node.failure("perm \(order) is not a permutation of \(x.rank) axes") }
        return x.permuted(order)
    }

    /// Axes from the second input (opset ≥ 13) or the `axes` attribute.
    static func axesArgument(_ node: ONNXNode, _ inputs: [Tensor?], index: Int) throws -> [Int]? {
        if let tensor = optionalInput(inputs, index) { return try integers(tensor, node) }
        return try node.ints("axes")
    }

    static func squeeze(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try input(inputs, 0, node)
        let axes = try axesArgument(node, inputs, index: 1).map { try Set($0.map { try axis($0, rank: x.rank, node) }) }
        var shape: [Int] = []
        for (index, dimension) in x.shape.enumerated() {
            if let axes, axes.contains(index) {
                guard dimension == 1 else { throw node.failure("cannot squeeze axis \(index) of shape \(x.shape)") }
                continue
            }
            if axes == nil && dimension == 1 { continue }
            shape.append(dimension)
        }
        return x.reshaped(shape)
    }

    static func unsqueeze(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try input(inputs, 0, node)
        guard let raw = try axesArgument(node, inputs, index: 1) else { throw node.failure("needs axes") }
        let rank = x.rank + raw.count
        let axes = try Set(raw.map { try axis($0, rank: rank, node) })
        guard axes.count == raw.count else { throw node.failure("repeated axes \(raw)") }
        var shape: [Int] = [], source = x.shape.makeIterator()
        for index in 0..<rank { shape.append(axes.contains(index) ? 1 : source.next()!) }
        return x.reshaped(shape)
    }

    static func concat(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let tensors = inputs.compactMap { $0 }
        guard let first = tensors.first else { throw node.failure("needs at least one input") }
        guard let rawAxis = try node.int("axis") else { throw node.failure("needs the axis attribute") }
        let axis = try axis(rawAxis, rank: first.rank, node)
        for tensor in tensors {
            guard tensor.dtype == first.dtype, tensor.rank == first.rank,
                  (0..<first.rank).allSatisfy({ $0 == axis || tensor.shape[$0] == first.shape[$0] }) else {
                throw node.failure("inputs \(tensors.map { "\($0.dtype)\($0.shape)" }) do not concatenate on axis \(axis)")
            }
        }
        let nonEmpty = tensors.filter { $0.count > 0 }
        if nonEmpty.count == 1 { return nonEmpty[0] }
        if nonEmpty.isEmpty {
            var shape = first.shape
            shape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
            return Tensor(zeros: shape, dtype: first.dtype)
        }
        return Tensor.concatenate(nonEmpty, axis: axis)
    }

    static func split(_ node: ONNXNode, _ inputs: [Tensor?], opset: Int64) throws -> [Tensor] {
        let x = try input(inputs, 0, node)
        let axis = try axis(try node.int("axis", default: 0), rank: x.rank, node)
        let count = node.outputs.count
        var sizes: [Int]
        if let tensor = optionalInput(inputs, 1) {
            sizes = try integers(tensor, node)
        } else if let attribute = try node.ints("split") {
            sizes = attribute
        } else {
            let parts = try node.int("num_outputs") ?? count
            guard parts > 0 else { throw node.failure("invalid number of outputs \(parts)") }
            let size = (x.shape[axis] + parts - 1) / parts
            sizes = (0..<parts).map { Swift.max(0, Swift.min(size, x.shape[axis] - $0 * size)) }
        }
        guard sizes.count == count, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == x.shape[axis] else {
            throw node.failure("split sizes \(sizes) do not divide axis \(axis) of shape \(x.shape) into \(count) outputs")
        }
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return x.sliced(axis: axis, start..<(start + size))
        }
    }

    static func slice(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        var x = try input(inputs, 0, node)
        let starts = try integers(try input(inputs, 1, node), node), ends = try integers(try input(inputs, 2, node), node)
        let axes = try optionalInput(inputs, 3).map { try integers($0, node) } ?? Array(0..<starts.count)
        let steps = try optionalInput(inputs, 4).map { try integers($0, node) } ?? Array(repeating: 1, count: starts.count)
        guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count else {
            throw node.failure("starts, ends, axes and steps have different lengths")
        }
        let rank = x.rank
        for index in starts.indices {
            let axis = try axis(axes[index], rank: rank, node)
            let size = x.shape[axis], step = steps[index]
            guard step != 0 else { throw node.failure("step is zero") }
            var start = starts[index] < 0 ? starts[index] + size : starts[index]
            var end = ends[index] < 0 ? ends[index] + size : ends[index]
            if step > 0 {
                start = Swift.min(Swift.max(start, 0), size)
                end = Swift.min(Swift.max(end, 0), size)
                if step == 1 {
                    x = x.sliced(axis: axis, start..<Swift.max(start, end))
                    continue
                }
                x = try gatherAxis(x, axis: axis, indices: Array(stride(from: start, to: end, by: step)))
            } else {
                start = Swift.min(Swift.max(start, -1), size - 1)
                end = Swift.min(Swift.max(end, -1), size - 1)
                x = try gatherAxis(x, axis: axis, indices: Array(stride(from: start, to: end, by: step)))
            }
        }
        return x
    }

    /// Elements at `indices` (already in range) along `axis`, any dtype.
    static func gatherAxis(_ x: Tensor, axis: Int, indices: [Int]) throws -> Tensor {
        var shape = x.shape
        shape[axis] = indices.count
        let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
        let size = x.dtype.byteSize, row = inner * size
        let storage = TensorStorage(byteCount: outer * indices.count * row)
        let source = x.rawPointer
        var destination = storage.base
        for o in 0..<outer {
            for index in indices {
                destination.copyMemory(from: source + (o * x.shape[axis] + index) * row, byteCount: row)
                destination += row
            }
        }
        return Tensor(shape: shape, dtype: x.dtype, storage: storage)
    }

    static func gather(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let data = try input(inputs, 0, node), indicesTensor = try input(inputs, 1, node)
        guard data.rank > 0 else { throw node.failure("data must have rank ≥ 1") }
        let axis = try axis(try node.int("axis", default: 0), rank: data.rank, node)
        let size = data.shape[axis]
        let indices = try integers(indicesTensor, node).map { index -> Int in
            let resolved = index < 0 ? index + size : index
            guard resolved >= 0 && resolved < size else { throw node.failure("index \(index) is out of range for axis \(axis) of size \(size)") }
            return resolved
        }
        let gathered = try gatherAxis(data, axis: axis, indices: indices)
        let shape = Array(data.shape[..<axis]) + indicesTensor.shape + Array(data.shape[(axis + 1)...])
        return gathered.reshaped(shape)
    }

    /// GatherND: slices of `data` at the index tuples in the last axis of `indices`, with
    /// `batch_dims` leading axes shared by both.
    static func gatherND(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let data = try input(inputs, 0, node), indicesTensor = try input(inputs, 1, node)
        let batchDims = try node.int("batch_dims", default: 0)
        let q = indicesTensor.rank, r = data.rank
        guard q >= 1, batchDims >= 0, batchDims < Swift.min(q, r), let k = indicesTensor.shape.last, k >= 1, batchDims + k <= r,
              Array(data.shape[..<batchDims]) == Array(indicesTensor.shape[..<batchDims]) else {
            throw node.failure("indices \(indicesTensor.shape) do not fit data \(data.shape) with batch_dims \(batchDims)")
        }
        let indices = try integers(indicesTensor, node)
        let batchCount = data.shape[..<batchDims].reduce(1, *)
        let sliceShape = Array(data.shape[(batchDims + k)...])
        let sliceSize = sliceShape.reduce(1, *)
        let perBatchData = data.shape[batchDims...].reduce(1, *)
        let tuplesPerBatch = indicesTensor.shape[batchDims..<(q - 1)].reduce(1, *)
        let strides = Tensor.strides(for: Array(data.shape[batchDims...]))
        let size = data.dtype.byteSize
        let storage = TensorStorage(byteCount: batchCount * tuplesPerBatch * sliceSize * size)
        let source = data.rawPointer
        var destination = storage.base
        for batch in 0..<batchCount {
            for tuple in 0..<tuplesPerBatch {
                var offset = batch * perBatchData
                for axis in 0..<k {
                    let extent = data.shape[batchDims + axis]
                    var index = indices[(batch * tuplesPerBatch + tuple) * k + axis]
                    if index < 0 { index += extent }
                    guard index >= 0 && index < extent else { throw node.failure("index out of range for axis \(batchDims + axis) of size \(extent)") }
                    offset += index * strides[axis]
                }
                destination.copyMemory(from: source + offset * size, byteCount: sliceSize * size)
                destination += sliceSize * size
            }
        }
        return Tensor(shape: Array(indicesTensor.shape.dropLast()) + sliceShape, dtype: data.dtype, storage: storage)
    }

    /// ScatterND (reduction `none`): a copy of `data` with the slices at the index tuples of
    /// `indices` replaced by `updates` (later tuples win where they repeat, as in the reference).
    static func scatterND(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let data = try input(inputs, 0, node), indicesTensor = try input(inputs, 1, node), updates = try input(inputs, 2, node)
        let reduction = try node.string("reduction", default: "none")
        guard reduction == "none" else { throw node.failure("reduction '\(reduction)' is not supported (none only)") }
        guard let k = indicesTensor.shape.last, k >= 1, k <= data.rank, updates.dtype == data.dtype,
              updates.shape == Array(indicesTensor.shape.dropLast()) + Array(data.shape[k...]) else {
            throw node.failure("indices \(indicesTensor.shape) and updates \(updates.shape) do not fit data \(data.shape)")
        }
        let indices = try integers(indicesTensor, node)
        let sliceSize = data.shape[k...].reduce(1, *), size = data.dtype.byteSize
        let strides = Tensor.strides(for: data.shape)
        let storage = TensorStorage(byteCount: data.count * size)
        storage.base.copyMemory(from: data.rawPointer, byteCount: data.count * size)
        let source = updates.rawPointer
        for tuple in 0..<(indices.count / k) {
            var offset = 0
            for axis in 0..<k {
                var index = indices[tuple * k + axis]
                if index < 0 { index += data.shape[axis] }
                guard index >= 0 && index < data.shape[axis] else { throw node.failure("index out of range for axis \(axis) of size \(data.shape[axis])") }
                offset += index * strides[axis]
            }
            (storage.base + offset * size).copyMemory(from: source + tuple * sliceSize * size, byteCount: sliceSize * size)
        }
        return Tensor(shape: data.shape, dtype: data.dtype, storage: storage)
    }

    static func expand(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try input(inputs, 0, node)
        let target = try integers(try input(inputs, 1, node), node)
        guard target.allSatisfy({ $0 >= 0 }) else { throw node.failure("invalid shape \(target)") }
        let shape = try ONNXBroadcast.shape([x.shape, target], node: node)
        guard shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? .max : $0 * $1 }) <= 1 << 31 else {
            throw node.failure("expanded shape \(shape) is too large")
        }
        return x.dtype == .float32 ? x.broadcast(to: shape) : ONNXBroadcast.expand(x, to: shape)
    }

    static func tile(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        var x = try input(inputs, 0, node)
        let repeats = try integers(try input(inputs, 1, node), node)
        guard repeats.count == x.rank, repeats.allSatisfy({ $0 >= 0 }) else { throw node.failure("repeats \(repeats) do not fit rank \(x.rank)") }
        for (axis, count) in repeats.enumerated() where count != 1 {
            x = try gatherAxis(x, axis: axis, indices: (0..<count).flatMap { _ in 0..<x.shape[axis] })
        }
        return x
    }

    /// Pad in `constant` mode (the mode exporters emit for zero padding).
    static func pad(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try input(inputs, 0, node)
        let mode = try node.string("mode", default: "constant")
        guard mode == "constant" else { throw node.failure("mode '\(mode)' is not supported (constant only)") }
        let raw = try integers(try input(inputs, 1, node), node)
        let axes = try optionalInput(inputs, 3).map { try integers($0, node).map { try axis($0, rank: x.rank, node) } } ?? Array(0..<x.rank)
        guard raw.count == 2 * axes.count else { throw node.failure("pads \(raw) do not match \(axes.count) axes") }
        var before = [Int](repeating: 0, count: x.rank), after = before
        for (index, axis) in axes.enumerated() { before[axis] = raw[index]; after[axis] = raw[index + axes.count] }
        guard before.allSatisfy({ $0 >= 0 }), after.allSatisfy({ $0 >= 0 }) else { throw node.failure("negative pads \(raw) are not supported") }
        let value = optionalInput(inputs, 2).map { $0.to(.float32).scalarValue } ?? 0
        return try padded(x, before: before, after: after, value: value, node)
    }

    /// `x` with `before`/`after` elements of `value` added on each axis (any dtype; non-float
    /// tensors pad with zeros only).
    static func padded(_ x: Tensor, before: [Int], after: [Int], value: Float, _ node: ONNXNode) throws -> Tensor {
        guard x.dtype == .float32 || value == 0 else { throw node.failure("non-zero padding of a \(x.dtype) tensor") }
        let shape = (0..<x.rank).map { x.shape[$0] + before[$0] + after[$0] }
        let size = x.dtype.byteSize, total = shape.reduce(1, *)
        let storage = TensorStorage(byteCount: total * size)
        if value == 0 {
            storage.base.initializeMemory(as: UInt8.self, repeating: 0, count: total * size)
        } else {
            storage.base.initializeMemory(as: Float.self, repeating: value, count: total)
        }
        let out = Tensor(shape: shape, dtype: x.dtype, storage: storage)
        guard x.count > 0 else { return out }
        let outStrides = Tensor.strides(for: shape)
        let inner = x.shape.last ?? 1
        let rows = x.count / Swift.max(inner, 1)
        let base = (0..<x.rank).reduce(0) { $0 + before[$1] * outStrides[$1] }
        var index = [Int](repeating: 0, count: Swift.max(x.rank - 1, 0))
        let source = x.rawPointer
        for row in 0..<rows {
            var offset = base
            for axis in 0..<index.count { offset += index[axis] * outStrides[axis] }
            (storage.base + offset * size).copyMemory(from: source + row * inner * size, byteCount: inner * size)
            var axis = index.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < x.shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return out
    }
}
