// Shape and layout ops. Tensors are always contiguous, so permute/slice/concat copy (through
// Kernels/LayoutKernels.swift); reshape and leading-axis views share storage. Naive twins:
// `Reference.permuted`, `.sliced`, `.concatenate`, `.split`.

extension Tensor {
    /// Dimensions reordered: result axis i is this tensor's axis `order[i]` (PyTorch's `permute`).
    public func permuted(_ order: [Int]) -> Tensor {
        let order = order.map { normalizedAxis($0) }
        precondition(order.count == rank && Set(order).count == rank,
                     "permute: \(order) is not a permutation of the axes of \(shape)")
        if order == Array(0..<rank) { return self }
        let outShape = order.map { shape[$0] }
        let out = Tensor(uninitializedShape: outShape, dtype: dtype)
        let inStrides = strides
        if count > 0 {
            permuteKernel(out: out.storage.base, x: rawPointer, shape: outShape,
                          sourceStrides: order.map { inStrides[$0] }, elementSize: dtype.byteSize)
        }
        return out.recordingGradient("permute", inputs: [self]) { g in
            var inverse = [Int](repeating: 0, count: order.count)
            for (i, axis) in order.enumerated() { inverse[axis] = i }
            return [g.permuted(inverse)]
        }
    }

    /// Swaps two axes.
    public func transposed(_ first: Int, _ second: Int) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(normalizedAxis(first), normalizedAxis(second))
        return permuted(order)
    }

    /// Elements `range` along `axis` (PyTorch's `narrow`).
    public func sliced(axis: Int, _ range: Range<Int>) -> Tensor {
        let axis = normalizedAxis(axis)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[axis],
                     "slice: range \(range) out of bounds for axis \(axis) of shape \(shape)")
        var outShape = shape
        outShape[axis] = range.count
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let result: Tensor
        if outer == 1 {
            // A view of the same storage (not `view(elementOffset:)`, which would record its own node).
            result = Tensor(shape: outShape, dtype: dtype, storage: storage, byteOffset: byteOffset + range.lowerBound * inner * dtype.byteSize)
        } else {
            let out = Tensor(uninitializedShape: outShape, dtype: dtype)
            let size = dtype.byteSize
            copyRowsKernel(out: out.storage.base, outStride: range.count * inner * size,
                           x: rawPointer + range.lowerBound * inner * size, sourceStride: shape[axis] * inner * size,
                           rows: outer, rowBytes: range.count * inner * size)
            result = out
        }
        return result.recordingGradient("slice", inputs: [self]) { [shape] g in
            var pieces: [Tensor] = []
            if range.lowerBound > 0 {
                var s = shape; s[axis] = range.lowerBound; pieces.append(Tensor(zeros: s))
            }
            pieces.append(g)
            if range.upperBound < shape[axis] {
                var s = shape; s[axis] = shape[axis] - range.upperBound; pieces.append(Tensor(zeros: s))
            }
            return [Tensor.concatenate(pieces, axis: axis)]
        }
    }

    /// One index along `axis`, removing that axis (PyTorch's `select` / `x[:, i]`).
    public func selecting(axis: Int, index: Int) -> Tensor {
        let axis = normalizedAxis(axis)
        var outShape = shape
        outShape.remove(at: axis)
        return sliced(axis: axis, index..<(index + 1)).reshaped(outShape)
    }

    /// Joins tensors along `axis`; all other dimensions must match.
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate: no tensors")
        let first = tensors[0]
        let axis = first.normalizedAxis(axis)
        for t in tensors {
            precondition(t.rank == first.rank && t.dtype == first.dtype
                         && (0..<first.rank).allSatisfy { $0 == axis || t.shape[$0] == first.shape[$0] },
                         "concatenate: shapes \(first.shape) and \(t.shape) differ outside axis \(axis)")
        }
        var outShape = first.shape
        outShape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        let out = Tensor(uninitializedShape: outShape, dtype: first.dtype)
        let outer = first.shape[..<axis].reduce(1, *), inner = first.shape[(axis + 1)...].reduce(1, *)
        let size = first.dtype.byteSize
        let outRow = outShape[axis] * inner * size
        var offset = 0
        for t in tensors {
            let row = t.shape[axis] * inner * size
            copyRowsKernel(out: out.storage.base + offset, outStride: outRow, x: t.rawPointer, sourceStride: row,
                           rows: outer, rowBytes: row)
            offset += row
        }
        let sizes = tensors.map { $0.shape[axis] }
        return out.recordingGradient("concatenate", inputs: tensors) { g in
            g.split(sizes: sizes, axis: axis).map { Optional($0) }
        }
    }

    /// Pieces of `sizes[i]` along `axis` (sizes must add up to the axis length).
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let axis = normalizedAxis(axis)
        precondition(sizes.reduce(0, +) == shape[axis], "split: sizes \(sizes) do not add up to \(shape[axis]) (shape \(shape))")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return sliced(axis: axis, start..<(start + size))
        }
    }

    /// Equal pieces of `size` along `axis` (the last one smaller if needed), like `torch.split(x, size)`.
    public func split(size: Int, axis: Int) -> [Tensor] {
        let length = shape[normalizedAxis(axis)]
        precondition(size > 0, "split: size must be positive")
        let sizes = stride(from: 0, to: length, by: size).map { Swift.min(size, length - $0) }
        return split(sizes: sizes, axis: axis)
    }

    /// Merges axes `startAxis...endAxis` into one (PyTorch's `flatten`).
    public func flattened(startAxis: Int = 0, endAxis: Int = -1) -> Tensor {
        if rank == 0 { return reshaped([1]) }
        let start = normalizedAxis(startAxis), end = normalizedAxis(endAxis)
        precondition(start <= end, "flatten: startAxis \(startAxis) after endAxis \(endAxis) for shape \(shape)")
        let merged = shape[start...end].reduce(1, *)
        return reshaped(Array(shape[..<start]) + [merged] + Array(shape[(end + 1)...]))
    }

    /// Inserts a dimension of size 1 at `axis` (PyTorch's `unsqueeze`).
    public func unsqueezed(axis: Int) -> Tensor {
        let axis = axis < 0 ? axis + rank + 1 : axis
        precondition(axis >= 0 && axis <= rank, "unsqueeze: axis out of range for shape \(shape)")
        var newShape = shape
        newShape.insert(1, at: axis)
        return reshaped(newShape)
    }

    /// Removes a dimension of size 1 at `axis`.
    public func squeezed(axis: Int) -> Tensor {
        let axis = normalizedAxis(axis)
        precondition(shape[axis] == 1, "squeeze: axis \(axis) of shape \(shape) is not 1")
        var newShape = shape
        newShape.remove(at: axis)
        return reshaped(newShape)
    }

    /// Repeats along broadcastable dimensions to reach `targetShape` (a copy, PyTorch's `expand().contiguous()`).
    public func broadcast(to targetShape: [Int]) -> Tensor {
        if shape == targetShape { return self }
        precondition(broadcastShape(shape, targetShape) == targetShape, "broadcast: cannot broadcast \(shape) to \(targetShape)")
        return Tensor(zeros: targetShape) + self
    }
}

/// Copies a strided source into a contiguous destination: destination element at multi-index i
/// reads `source[Σ i_k · sourceStrides_k]`. The innermost axis is a plain loop (memcpy when contiguous).
func permuteCopy(source: UnsafeRawPointer, destination: UnsafeMutableRawPointer, shape: [Int],
                 sourceStrides: [Int], elementSize: Int) {
    let rank = shape.count
    if rank == 0 { destination.copyMemory(from: source, byteCount: elementSize); return }
    let inner = shape[rank - 1], innerStride = sourceStrides[rank - 1]
    let outer = shape.reduce(1, *) / Swift.max(inner, 1)
    var index = [Int](repeating: 0, count: rank)
    var sourceOffset = 0
    var out = destination
    for _ in 0..<outer {
        if innerStride == 1 {
            out.copyMemory(from: source + sourceOffset * elementSize, byteCount: inner * elementSize)
        } else if elementSize == 4 {
            let s = source.assumingMemoryBound(to: UInt32.self) + sourceOffset
            let d = out.assumingMemoryBound(to: UInt32.self)
            for j in 0..<inner { d[j] = s[j * innerStride] }
        } else {
            for j in 0..<inner {
                (out + j * elementSize).copyMemory(from: source + (sourceOffset + j * innerStride) * elementSize, byteCount: elementSize)
            }
        }
        out += inner * elementSize
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            sourceOffset += sourceStrides[axis]
            if index[axis] < shape[axis] { break }
            sourceOffset -= sourceStrides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}
