#if arch(x86_64)
import CKernelsAVX2
#endif

/// The int8 GEMM kernels a quantized linear layer can run on, chosen at run time from the CPU.
///
/// AVX2 multiplies int16 pairs with `vpmaddwd` into exact int32 sums. A VNNI (`vpdpbusd`) kernel
/// would be faster on CPUs that have AVX512_VNNI or AVX_VNNI, but is not written: none of the
/// machines it could be tested on was at hand.
public enum QuantizedKernel: String, CaseIterable, Sendable, CustomStringConvertible {
    /// 6×16 tiles of `vpmaddwd` from the `CKernelsAVX2` C target.
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
}
