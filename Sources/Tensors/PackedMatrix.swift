#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A constant matrix (a weight) whose GEMM panels are packed once and reused by every call.
///
/// Shape letters: the matrix X is R×C (`rows` × `columns`), row-major. Pass it to `gemm` as
/// `.packed(x)` (X) or `.packed(x, transposed: true)` (Xᵀ), as either operand. Depending on the
/// shapes, the GEMM reads X in place or needs X packed into panels; the panels are built on first
/// use for each kernel and layout and cached here, so inference never repacks a weight.
///
/// Build one per weight and keep it next to the weight (a module can cache it and check
/// `isPacking(_:)` to notice that the weight was replaced). Thread-safe; one instance can serve
/// all request workers.
public final class PackedMatrix: @unchecked Sendable {
    /// R: rows of X.
    public let rows: Int
    /// C: columns of X.
    public let columns: Int
    /// X itself (shares storage with the weight it was built from).
    public let source: Tensor
    /// The shape of the tensor it was built from ([O, C/G, R, S] for a convolution weight).
    public let originalShape: [Int]

    /// X's first element; valid as long as `source` lives (this object holds it).
    let pointer: UnsafePointer<Float>
    // Safe to share: everything else is immutable, and the panels behind this lock are
    // written once, before their pointer is published.
    private let cache = Mutex<[PanelLayout: PackedPanels]>([:])
    // Other forms of the matrix built once by a kernel (the Winograd-transformed filters), by name.
    private let derivedForms = Mutex<[String: PackedPanels]>([:])

    /// Wraps a 2-D float32 matrix [R, C].
    public convenience init(_ matrix: Tensor) {
        precondition(matrix.rank == 2 && matrix.dtype == .float32, "PackedMatrix: a 2-D float32 matrix expected, got \(matrix.dtype) \(matrix.shape)")
        self.init(matrix: matrix, originalShape: matrix.shape)
    }

    private init(matrix: Tensor, originalShape: [Int]) {
        self.source = matrix.detached()
        self.originalShape = originalShape
        self.rows = matrix.shape[0]
        self.columns = matrix.shape[1]
        self.pointer = source.rawPointer.assumingMemoryBound(to: Float.self)
    }

    /// A convolution weight [O, C/G, R, S] as the matrix [O, C/G·R·S] the convolution multiplies by.
    public convenience init(convolutionWeight weight: Tensor) {
        precondition(weight.rank == 4 && weight.dtype == .float32,
                     "PackedMatrix: a float32 convolution weight [O, C/G, R, S] expected, got \(weight.dtype) \(weight.shape)")
        self.init(matrix: weight.reshaped([weight.shape[0], -1]), originalShape: weight.shape)
    }

    /// True when this was built from `tensor`'s current values: same storage, offset and element
    /// count. (A write to the weight copies its storage, since this object shares it.)
    public func isPacking(_ tensor: Tensor) -> Bool {
        tensor.storage === source.storage && tensor.byteOffset == source.byteOffset
            && tensor.count == source.count && tensor.dtype == .float32
    }

    /// Bytes held by the packed panels built so far (not counting `source`).
    public var packedByteCount: Int {
        let panels = cache.withLock { $0.values.reduce(0) { $0 + $1.count } }
        let derived = derivedForms.withLock { $0.values.reduce(0) { $0 + $1.count } }
        return (panels + derived) * MemoryLayout<Float>.stride
    }

    /// A form of this matrix that a kernel computes from it once (`build` fills `count` floats from
    /// `pointer`) and reuses on every call, cached under `name`.
    func derived(_ name: String, count: Int, build: (UnsafeMutablePointer<Float>) -> Void) -> UnsafePointer<Float> {
        if let form = derivedForms.withLock({ $0[name] }) {
            precondition(form.count == max(count, 1), "PackedMatrix.derived: \(name) has \(form.count) floats, \(count) asked")
            return UnsafePointer(form.base)
        }
        // Built outside the lock (it can take a while); if two calls race, the first stored wins.
        let built = PackedPanels(count: max(count, 1))
        build(built.base)
        let form = derivedForms.withLock { forms in
            if let stored = forms[name] { return stored }
            forms[name] = built
            return built
        }
        return UnsafePointer(form.base)
    }

    /// The panels of `kernel`'s width (`gemmPanelStride` apart), packing them on first use. `alongRows`: panel columns
    /// walk X's rows and the depth walks its columns (the layout of Xᵀ as a GEMM B operand);
    /// otherwise panel columns walk X's columns (X as a B operand).
    func panels(kernel: GEMMKernel, alongRows: Bool) -> UnsafePointer<Float> {
        let layout = PanelLayout(kernel: kernel, alongRows: alongRows)
        return cache.withLock { cache in
            if let panels = cache[layout] { return UnsafePointer(panels.base) }
            let depth = alongRows ? columns : rows, width = alongRows ? rows : columns
            let panelWidth = kernel.panelWidth
            let panelCount = (width + panelWidth - 1) / panelWidth
            let panelStride = gemmPanelStride(depth: depth, panelWidth: panelWidth)
            let panels = PackedPanels(count: max(panelCount * panelStride, 1))
            packPanels(source: pointer, depthStride: alongRows ? 1 : columns, widthStride: alongRows ? columns : 1,
                       depth: 0..<depth, width: width, panelWidth: panelWidth, panels: 0..<panelCount,
                       destination: panels.base, panelStride: panelStride)
            cache[layout] = panels
            return UnsafePointer(panels.base)
        }
    }
}

/// Which packing of a `PackedMatrix`: the kernel fixes the panel width.
private struct PanelLayout: Hashable {
    var kernel: GEMMKernel
    var alongRows: Bool
}

/// One packed copy of a matrix: 64-byte-aligned floats.
private typealias PackedPanels = AlignedBuffer<Float>
