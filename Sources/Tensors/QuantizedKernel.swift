import Foundation
#if arch(x86_64)
import CKernelsAVX2
import KernelsAVX2
#endif

/// The int8 GEMM kernels a quantized linear layer can run on, chosen at run time from the CPU.
///
/// AVX2 multiplies int16 pairs with `vpmaddwd` into exact int32 sums. A VNNI (`vpdpbusd`) kernel
/// would be faster on CPUs that have AVX512_VNNI or AVX_VNNI, but is not written: it could not be
/// tested on the machine this was written on (AMD Zen 3: AVX2 only).
public enum QuantizedKernel: String, CaseIterable, Sendable, CustomStringConvertible {
    /// 6×16 tiles of `vpmaddwd` from the `CKernelsAVX2` target (packing and row quantization from `KernelsAVX2`).
    case avx2
    /// Plain Swift loops with Int32 sums: builds and runs anywhere.
    case portable

    public var description: String { rawValue }

    /// The kernels this CPU can run, fastest first (`portable` is always last).
    public static let available: [QuantizedKernel] = {
        var kernels: [QuantizedKernel] = []
        #if arch(x86_64)
        if periscope_qgemm_avx2_built() != 0 && CPUFeatures.current.contains(["avx2"]) { kernels.append(.avx2) }
        #endif
        kernels.append(.portable)
        return kernels
    }()

    /// The kernel `Tensor.linear(_:quantizedWeight:…)` uses unless told otherwise.
    public static let preferred: QuantizedKernel = available[0]

    /// Measures the register-only throughput of this kernel's inner step (multiply-adds of int8
    /// values held as int16, summed in int32) on the calling thread, in GOP/s (2 per product), or
    /// nil for the portable kernel, which has no register-only loop.
    public func measurePeakGigaops(seconds: Double = 0.2) -> Double? {
        #if arch(x86_64)
        guard self == .avx2 else { return nil }
        var iterations = 1 << 16
        while true {
            let start = DispatchTime.now().uptimeNanoseconds
            let sink = periscope_madd_throughput_avx2(iterations, Int32(truncatingIfNeeded: iterations))
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            // Uses the result (a write that practically never happens), so the loop cannot be dropped.
            if sink == 1 { FileHandle.standardError.write(Data(" ".utf8)) }
            if elapsed >= seconds || iterations >= 1 << 34 {
                return Double(iterations) * Double(PERISCOPE_MADD_OPERATIONS_PER_ITERATION) / elapsed * 1e-9
            }
            iterations *= 2
        }
        #else
        return nil
        #endif
    }
}
