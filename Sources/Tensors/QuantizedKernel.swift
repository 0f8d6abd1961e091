import Foundation
#if arch(x86_64)
import CKernelsAVX2
import CKernelsAVX512
import KernelsAVX2
#endif

/// The int8 GEMM kernels a quantized linear layer can run on, chosen at run time from the CPU.
///
/// Every kernel sums the same int8 products exactly in int32, so they all give the same result bit
/// for bit. AVX512_VNNI's `vpdpbusd` does 4 products per int32 lane in one instruction (64 per
/// zmm); AVX2 multiplies int16 pairs with `vpmaddwd` (16 per ymm, plus an add). AVX_VNNI (the
/// ymm-only VEX form of some Intel client CPUs) is not used.
public enum QuantizedKernel: String, CaseIterable, Sendable, CustomStringConvertible {
    /// 6×64 tiles of `vpdpbusd` from the `CKernelsAVX512` target (row quantization from `KernelsAVX2`).
    case avx512vnni
    /// 6×16 tiles of `vpmaddwd` from the `CKernelsAVX2` target (packing and row quantization from `KernelsAVX2`).
    case avx2
    /// Plain Swift loops with Int32 sums: builds and runs anywhere.
    case portable

    public var description: String { rawValue }

    /// The kernels this CPU can run, fastest first (`portable` is always last).
    public static let available: [QuantizedKernel] = {
        var kernels: [QuantizedKernel] = []
        #if arch(x86_64)
        let features = CPUFeatures.current
        if periscope_qgemm_vnni_built() != 0 && features.contains(["avx512f", "avx512bw", "avx512_vnni"]) { kernels.append(.avx512vnni) }
        if periscope_qgemm_avx2_built() != 0 && features.contains(["avx2"]) { kernels.append(.avx2) }
        #endif
        kernels.append(.portable)
        return kernels
    }()

    /// The kernel `Tensor.linear(_:quantizedWeight:…)` uses unless told otherwise.
    public static let preferred: QuantizedKernel = available[0]

    /// The instructions of this kernel's inner step, as `bench kernels` names them.
    public var innerStep: String {
        switch self {
        case .avx512vnni: "int8 × uint8 quads, vpdpbusd (zmm)"
        case .avx2: "int8 as int16 pairs, vpmaddwd + vpaddd (ymm)"
        case .portable: "scalar Int32 loops"
        }
    }

    /// Measures the register-only throughput of this kernel's inner step (int8 multiply-adds summed
    /// in int32) on the calling thread, in GOP/s (2 per product), or nil for the portable kernel,
    /// which has no register-only loop.
    public func measurePeakGigaops(seconds: Double = 0.2) -> Double? {
        #if arch(x86_64)
        let loop: (Int, Int32) -> Int32, operations: Int
        switch self {
        case .avx512vnni: (loop, operations) = (periscope_dpbusd_throughput, Int(PERISCOPE_DPBUSD_OPERATIONS_PER_ITERATION))
        case .avx2: (loop, operations) = (periscope_madd_throughput_avx2, Int(PERISCOPE_MADD_OPERATIONS_PER_ITERATION))
        case .portable: return nil
        }
        var iterations = 1 << 16
        while true {
            let start = DispatchTime.now().uptimeNanoseconds
            let sink = loop(iterations, Int32(truncatingIfNeeded: iterations))
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            // Uses the result (a write that practically never happens), so the loop cannot be dropped.
            if sink == 1 { FileHandle.standardError.write(Data(" ".utf8)) }
            if elapsed >= seconds || iterations >= 1 << 34 {
                return Double(iterations) * Double(operations) / elapsed * 1e-9
            }
            iterations *= 2
        }
        #else
        return nil
        #endif
    }
}
