/// An n-dimensional array: row-major, contiguous, copy-on-write, 64-byte-aligned storage.
///
/// Compute happens in float32; the other dtypes are for storage (weights, indices, images,
/// responses). A tensor can take part in automatic differentiation: `requiresGrad` makes it a
/// leaf whose gradient accumulates in `grad`, and ops on tracked tensors record a
/// `GradientNode` unless gradient recording is off (`GradMode`). `detached()` cuts the graph.
///
/// Values are `Sendable`. A tensor that carries a gradient node belongs to the thread that
/// builds and runs its graph; detached tensors (all captured features) are free to cross threads.
public struct Tensor: Sendable {
    public private(set) var shape: [Int]
    public private(set) var dtype: DType
    /// The bytes; shared between copies until one of them writes.
    public private(set) var storage: TensorStorage
    /// Where this tensor's first element starts inside `storage`, in bytes.
    public private(set) var byteOffset: Int
    /// The autograd node that produced this tensor, or the leaf accumulator; nil when untracked.
    public internal(set) var gradientNode: GradientNode?

    /// Wraps existing storage. `byteOffset + count * dtype.byteSize` must fit inside it.
    public init(shape: [Int], dtype: DType, storage: TensorStorage, byteOffset: Int = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        let needed = byteOffset + Tensor.elementCount(shape) * dtype.byteSize
        precondition(byteOffset >= 0 && needed <= storage.byteCount,
                     "Tensor: shape \(shape) of \(dtype) needs \(needed) bytes, storage has \(storage.byteCount)")
        self.shape = shape
        self.dtype = dtype
        self.storage = storage
        self.byteOffset = byteOffset
        self.gradientNode = nil
    }

    /// A tensor with uninitialized contents, for kernels that overwrite every element.
    public init(uninitializedShape shape: [Int], dtype: DType = .float32) {
        let storage = TensorStorage(byteCount: Tensor.elementCount(shape) * dtype.byteSize)
        self.init(shape: shape, dtype: dtype, storage: storage)
    }

    /// A zero-filled tensor.
    public init(zeros shape: [Int], dtype: DType = .float32) {
        self.init(uninitializedShape: shape, dtype: dtype)
        storage.base.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
    }

    /// A tensor holding `elements` in row-major order.
    public init<Element: TensorElement>(shape: [Int], elements: [Element]) {
        precondition(elements.count == Tensor.elementCount(shape),
                     "Tensor: \(elements.count) elements do not fill shape \(shape)")
        self.init(uninitializedShape: shape, dtype: Element.dtype)
        elements.withUnsafeBytes { source in
            if let address = source.baseAddress {
                storage.base.copyMemory(from: address, byteCount: source.count)
            }
        }
    }

    /// A float32 tensor holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        self.init(shape: shape, elements: scalars)
    }

    /// A float32 tensor with every element equal to `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(uninitializedShape: shape)
        let count = self.count
        storage.base.bindMemory(to: Float.self, capacity: count).initialize(repeating: value, count: count)
    }

    /// A rank-0 float32 tensor.
    public init(_ scalar: Float) {
        self.init(shape: [], scalars: [scalar])
    }

    // MARK: - Shape

    public var rank: Int { shape.count }
    public var count: Int { Tensor.elementCount(shape) }
    public var byteCount: Int { count * dtype.byteSize }

    /// Row-major strides in elements.
    public var strides: [Int] { Tensor.strides(for: shape) }

    public static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    public static func strides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// Turns a possibly negative axis into an index in `0..<rank`.
    public func normalizedAxis(_ axis: Int) -> Int {
        let result = axis < 0 ? axis + rank : axis
        precondition(result >= 0 && result < Swift.max(rank, 1), "Tensor: axis \(axis) out of range for shape \(shape)")
        return result
    }

    // MARK: - Raw access

    /// The first element's address. Read-only use.
    public var rawPointer: UnsafeRawPointer { UnsafeRawPointer(storage.base + byteOffset) }

    /// Reads the elements as `Element`, which must match `dtype`.
    public func withUnsafeBufferPointer<Element: TensorElement, Result>(
        as type: Element.Type, _ body: (UnsafeBufferPointer<Element>) throws -> Result
    ) rethrows -> Result {
        precondition(Element.dtype == dtype, "Tensor: reading \(dtype) storage as \(Element.dtype)")
        let pointer = (storage.base + byteOffset).assumingMemoryBound(to: Element.self)
        return try withExtendedLifetime(storage) {
            try body(UnsafeBufferPointer(start: pointer, count: count))
        }
    }

    /// Writes the elements as `Element`, first copying the storage if it is shared or read-only.
    public mutating func withUnsafeMutableBufferPointer<Element: TensorElement, Result>(
        as type: Element.Type, _ body: (UnsafeMutableBufferPointer<Element>) throws -> Result
    ) rethrows -> Result {
        precondition(Element.dtype == dtype, "Tensor: writing \(dtype) storage as \(Element.dtype)")
        makeUniqueStorage()
        let pointer = (storage.base + byteOffset).assumingMemoryBound(to: Element.self)
        return try withExtendedLifetime(storage) {
            try body(UnsafeMutableBufferPointer(start: pointer, count: count))
        }
    }

    /// Float32 elements, read-only.
    public func withFloats<Result>(_ body: (UnsafeBufferPointer<Float>) throws -> Result) rethrows -> Result {
        try withUnsafeBufferPointer(as: Float.self, body)
    }

    /// Float32 elements, writable (copy-on-write).
    public mutating func withMutableFloats<Result>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> Result) rethrows -> Result {
        try withUnsafeMutableBufferPointer(as: Float.self, body)
    }

    /// True when no other tensor value shares this storage and it may be written in place.
    public mutating func isStorageUniquelyOwned() -> Bool {
        storage.isWritable && isKnownUniquelyReferenced(&storage)
    }

    /// Copies the storage (only this tensor's bytes) if it is shared or read-only.
    public mutating func makeUniqueStorage() {
        if isStorageUniquelyOwned() { return }
        let copy = TensorStorage(byteCount: byteCount)
        copy.base.copyMemory(from: storage.base + byteOffset, byteCount: byteCount)
        storage = copy
        byteOffset = 0
    }

    /// A copy with its own storage, untracked by autograd (PyTorch's `detach().clone()`).
    public func detachedCopy() -> Tensor {
        let copy = TensorStorage(byteCount: byteCount)
        copy.base.copyMemory(from: rawPointer, byteCount: byteCount)
        return Tensor(shape: shape, dtype: dtype, storage: copy)
    }

    /// The same values without the autograd graph (storage is shared, as in PyTorch).
    public func detached() -> Tensor {
        var result = self
        result.gradientNode = nil
        return result
    }

    /// Same storage, new shape with the same element count. `-1` infers one dimension.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        let resolved = Tensor.resolveShape(newShape, count: count, from: shape)
        let result = Tensor(shape: resolved, dtype: dtype, storage: storage, byteOffset: byteOffset)
        return result.recordingGradient("reshape", inputs: [self]) { [shape] gradient in
            [gradient.reshaped(shape)]
        }
    }

    static func resolveShape(_ newShape: [Int], count: Int, from shape: [Int]) -> [Int] {
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        precondition(inferred.count <= 1, "reshape: more than one -1 in \(newShape)")
        var resolved = newShape
        if let axis = inferred.first {
            let known = newShape.enumerated().filter { $0.offset != axis }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "reshape: cannot reshape \(shape) to \(newShape)")
            resolved[axis] = count / known
        }
        precondition(elementCount(resolved) == count, "reshape: cannot reshape \(shape) to \(newShape)")
        return resolved
    }

    /// A tensor viewing `count` elements of this one's storage starting `elementOffset` elements in.
    /// Used for zero-copy splits along the leading axis. Its gradient lands in the viewed
    /// elements of this tensor's gradient (zeros elsewhere).
    public func view(elementOffset: Int, shape newShape: [Int]) -> Tensor {
        precondition(elementOffset >= 0 && elementOffset + Tensor.elementCount(newShape) <= count,
                     "view: \(newShape) at offset \(elementOffset) exceeds \(shape)")
        let result = Tensor(shape: newShape, dtype: dtype, storage: storage, byteOffset: byteOffset + elementOffset * dtype.byteSize)
        return result.recordingGradient("view", inputs: [self]) { [shape] gradient in
            let full = Tensor(zeros: shape)
            gradient.withFloats { g in
                guard let g = g.baseAddress else { return }
                (full.mutableFloatPointer + elementOffset).update(from: g, count: gradient.count)
            }
            return [full]
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview: [String]
        switch dtype {
        case .float32, .float16, .bfloat16:
            preview = toArray().prefix(8).map { "\($0)" }
        default:
            preview = toInt64Array().prefix(8).map { "\($0)" }
        }
        return "Tensor(\(dtype), shape: \(shape), [\(preview.joined(separator: ", "))\(count > 8 ? ", …" : "")])"
    }
}
