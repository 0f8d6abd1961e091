import Synchronization
#if arch(x86_64)
import CKernelsAVX512
import KernelsAVX2
#endif

/// A constant weight W[R×C] quantized for int8 linear layers: each row (output channel) scaled
/// symmetrically into [-127, 127], `W[r, c] ≈ values[r, c] · scales[r]`.
///
/// Symmetric per-channel weights keep the zero point at 0, so the integer product needs no
/// correction terms, and a per-channel scale factors out of each column of the product, where the
/// epilogue applies it. The kernel-specific packed copy is built on first use and cached, like
/// `PackedMatrix`'s panels. Thread-safe; one instance serves every replica.
public final class QuantizedMatrix: @unchecked Sendable {
    /// R: output channels.
    public let rows: Int
    /// C: input features (the reduced dimension).
    public let columns: Int
    /// The int8 values, row-major [R, C].
    public let values: [Int8]
    /// One scale per row: its largest magnitude / 127 (0 for an all-zero row).
    public let scales: [Float]
    /// The same int8 values column-major [C, R]: input feature c's weights for every channel,
    /// contiguous, for the float32 products of activation outliers (`ActivationOutliers`).
    public let columnValues: [Int8]
    // Each kernel's panels, written once under the lock, before the pointer is published.
    private let packed = Mutex<AlignedBuffer<Int16>?>(nil)
    private let packedVNNI = Mutex<AlignedBuffer<UInt8>?>(nil)

    /// Quantizes a 2-D float32 matrix [R, C] row by row (round half to even).
    public init(_ matrix: Tensor) {
        precondition(matrix.rank == 2 && matrix.dtype == .float32, "QuantizedMatrix: a 2-D float32 matrix expected, got \(matrix.dtype) \(matrix.shape)")
        let rows = matrix.shape[0], columns = matrix.shape[1]
        var values = [Int8](repeating: 0, count: rows * columns)
        var scales = [Float](repeating: 0, count: rows)
        matrix.withFloats { w in
            for r in 0..<rows {
                let row = UnsafeBufferPointer(rebasing: w[r * columns..<(r + 1) * columns])
                let (scale, inverse) = symmetricScale(row)
                scales[r] = scale
                for c in 0..<columns { values[r * columns + c] = Int8(quantizeSymmetric(row[c], inverse: inverse)) }
            }
        }
        self.rows = rows
        self.columns = columns
        var columnValues = [Int8](repeating: 0, count: rows * columns)
        for r in 0..<rows { for c in 0..<columns { columnValues[c * rows + r] = values[r * columns + c] } }
        self.values = values
        self.scales = scales
        self.columnValues = columnValues
    }

    /// Bytes of the int8 values plus the packed copy, once built.
    public var byteCount: Int {
        values.count + columnValues.count + scales.count * 4 + packed.withLock { $0?.byteCount ?? 0 }
            + packedVNNI.withLock { $0?.byteCount ?? 0 }
    }

    #if arch(x86_64)
    /// The AVX2 kernel's panels (8 channels × pairs of k, int16), packed on first use.
    func avx2Panels() -> UnsafePointer<Int16> {
        packed.withLock { panels in
            if let panels { return UnsafePointer(panels.base) }
            let built = AlignedBuffer<Int16>(count: max(quantizedPackedCountAVX2(outputs: rows, depth: columns), 16))
            values.withUnsafeBufferPointer { quantizedPackAVX2(weights: $0.baseAddress!, outputs: rows, depth: columns, panels: built.base) }
            panels = built
            return UnsafePointer(built.base)
        }
    }

    /// The VNNI kernel's panels (16 channels × quads of k, unsigned bytes offset by 128), packed on first use.
    func vnniPanels() -> UnsafePointer<UInt8> {
        packedVNNI.withLock { panels in
            if let panels { return UnsafePointer(panels.base) }
            let built = AlignedBuffer<UInt8>(count: max(periscope_qgemm_vnni_packed_size(rows, columns), 64))
            values.withUnsafeBufferPointer { periscope_qgemm_vnni_pack($0.baseAddress!, rows, columns, built.base) }
            panels = built
            return UnsafePointer(built.base)
        }
    }
    #endif
}

/// The scale of a symmetric int8 quantization of `values` and its inverse (both 0 for all zeros).
@inline(__always)
func symmetricScale(_ values: UnsafeBufferPointer<Float>) -> (scale: Float, inverse: Float) {
    var largest: Float = 0
    for value in values { largest = max(largest, abs(value)) }
    return (largest / 127, largest > 0 ? 127 / largest : 0)
}

/// `value · inverse` rounded half to even and clamped to [-127, 127].
@inline(__always)
func quantizeSymmetric(_ value: Float, inverse: Float) -> Int16 {
    Int16(min(max((value * inverse).rounded(.toNearestOrEven), -127), 127))
}
