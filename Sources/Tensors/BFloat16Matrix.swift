#if arch(x86_64)
import CKernelsAVX512
#endif

/// A constant weight W[R×C] converted to bfloat16 (round to nearest even) and packed once for the
/// bf16 GEMM: panels of 16 output channels × pairs of k, 64 bytes per pair (see BF16GEMM.h).
///
/// Built at load (not on first use like `QuantizedMatrix`'s panels): the conversion is the whole
/// point of the type, and the float32 weights it came from stay with the module for gradients.
/// Immutable and thread-safe; one instance serves every replica.
public final class BFloat16Matrix: @unchecked Sendable {
    /// R: output channels.
    public let rows: Int
    /// C: input features (the reduced dimension).
    public let columns: Int
    /// The packed bf16 panels, 64-byte aligned.
    let panels: AlignedBuffer<UInt16>

    /// Converts and packs a 2-D float32 matrix [R, C]. Needs `BFloat16GEMM.isAvailable`.
    public init(_ matrix: Tensor) {
        precondition(matrix.rank == 2 && matrix.dtype == .float32, "BFloat16Matrix: a 2-D float32 matrix expected, got \(matrix.dtype) \(matrix.shape)")
        precondition(BFloat16GEMM.isAvailable, "BFloat16Matrix: no bfloat16 GEMM on this CPU (ComputePrecision.unavailableReason)")
        rows = matrix.shape[0]
        columns = matrix.shape[1]
        #if arch(x86_64)
        let count = periscope_bf16_packed_count(rows, columns)
        panels = AlignedBuffer<UInt16>(count: Swift.max(count, 32))
        matrix.withFloats { w in periscope_bf16_pack(w.baseAddress!, rows, columns, panels.base) }
        #else
        preconditionFailure("BFloat16Matrix: bfloat16 exists only on x86-64")
        #endif
    }

    /// Bytes of the packed panels (half of a float32 copy, plus padding of N to a multiple of 16).
    public var byteCount: Int { panels.byteCount }

    /// Panels of 16 output channels.
    var panelCount: Int { (rows + 15) / 16 }
}
