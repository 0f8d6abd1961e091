#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable, 64-byte-aligned float buffer that kernels reuse between calls (packed panels,
/// im2col columns), so a forward pass does not allocate and page-fault its work space every op.
///
/// One per thread and purpose (`ScratchBuffer.gemmPanels.value`, …): a kernel running on a pool
/// worker uses that worker's buffers. The contents are garbage between uses.
final class ScratchBuffer {
    private var base: UnsafeMutablePointer<Float>?
    private var capacity = 0

    /// A buffer of at least `count` floats; invalidates pointers from earlier calls.
    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity || base == nil {
            free(base)
            let bytes = max(count, 16) * MemoryLayout<Float>.stride
            var pointer: UnsafeMutableRawPointer?
            // Not inside the precondition: -Ounchecked drops its condition, side effects included.
            let result = posix_memalign(&pointer, 64, bytes)
            precondition(result == 0 && pointer != nil, "ScratchBuffer: cannot allocate \(bytes) bytes")
            base = pointer!.bindMemory(to: Float.self, capacity: max(count, 16))
            capacity = max(count, 16)
        }
        return base!
    }

    deinit { free(base) }

    /// One L2-sized block of packed B panels, per GEMM thread.
    static let gemmPanels = ThreadLocal<ScratchBuffer>(default: { ScratchBuffer() })
    /// All packed B panels of a GEMM whose threads share them (split by rows).
    static let gemmSharedPanels = ThreadLocal<ScratchBuffer>(default: { ScratchBuffer() })
    /// The last few columns of B, gathered contiguous along K for the dot-product kernel.
    static let gemmColumns = ThreadLocal<ScratchBuffer>(default: { ScratchBuffer() })
    /// The transposed product of a GEMM run in the swapped orientation.
    static let gemmProduct = ThreadLocal<ScratchBuffer>(default: { ScratchBuffer() })
    /// im2col columns and other convolution work space.
    static let convolution = ThreadLocal<ScratchBuffer>(default: { ScratchBuffer() })
    /// One im2col row at a time, while `convolution` holds the packed result.
    static let convolutionRow = ThreadLocal<ScratchBuffer>(default: { ScratchBuffer() })
}
