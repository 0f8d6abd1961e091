import Foundation
#if arch(x86_64)
import CKernelsAVX512
#endif

/// The bfloat16 GEMM of linear layers computing in bfloat16 (`CKernelsAVX512`, `vdpbf16ps`): whether
/// this build and CPU can run it, the cache size its blocking derives from, and its register-only peak.
///
/// There is no portable variant on purpose: without `vdpbf16ps` a bf16 product is slower than
/// float32, so `ComputePrecision.bfloat16` is refused instead (`ComputePrecision.unavailableReason`).
public enum BFloat16GEMM {
    /// True when this build contains the AVX-512 bf16 kernel and the CPU has AVX512_BF16 (and the
    /// AVX-512 subsets the kernel's code is compiled for).
    public static let isAvailable: Bool = {
        #if arch(x86_64)
        return periscope_bf16_avx512_built() != 0
            && CPUFeatures.current.contains(["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16"])
        #else
        return false
        #endif
    }()

    /// True when this build contains the kernel (whatever the CPU).
    public static let isBuilt: Bool = {
        #if arch(x86_64)
        return periscope_bf16_avx512_built() != 0
        #else
        return false
        #endif
    }()

    /// The register-only bf16 peak over the float32 FMA peak on this core (r), measured once per
    /// process on first use (about 0.1 s), or nil when the kernel is not available. Where r ≤ 1.1 a
    /// bfloat16 version saves memory (weights half the size), not time, and loading one says so.
    public static let peakRatio: Double? = {
        guard isAvailable else { return nil }
        var ratios: [Double] = []
        for _ in 0..<3 {
            guard let bfloat16 = measurePeakGigaflops(seconds: 0.02) else { return nil }
            ratios.append(bfloat16 / GEMMKernel.preferred.measurePeakGigaflops(seconds: 0.02))
        }
        return ratios.sorted()[1]
    }()

    /// The bf16 bit patterns the kernel's conversion (`vcvtneps2bf16`) gives `values` (for tests:
    /// `Reference.bfloat16Bits` is its twin). Needs `isAvailable`.
    static func convert(_ values: [Float]) -> [UInt16] {
        precondition(isAvailable, "BFloat16GEMM.convert: no bfloat16 kernel on this CPU")
        var bits = [UInt16](repeating: 0, count: values.count)
        #if arch(x86_64)
        values.withUnsafeBufferPointer { source in
            bits.withUnsafeMutableBufferPointer { target in
                if let from = source.baseAddress, let to = target.baseAddress { periscope_bf16_convert(from, values.count, to) }
            }
        }
        #endif
        return bits
    }

    /// Measures the register-only throughput of the kernel's inner step (`vdpbf16ps`: 32 bf16
    /// products summed into 16 float32 lanes) on the calling thread, in GFLOP/s (2 per product),
    /// or nil when the kernel is not available.
    public static func measurePeakGigaflops(seconds: Double = 0.2) -> Double? {
        #if arch(x86_64)
        guard isAvailable else { return nil }
        var iterations = 1 << 14
        while true {
            let start = DispatchTime.now().uptimeNanoseconds
            let sink = periscope_bf16_dot_throughput(iterations, Float(iterations & 7))
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            // Uses the result (a write that practically never happens), so the loop cannot be dropped.
            if sink == 1 { FileHandle.standardError.write(Data(" ".utf8)) }
            if elapsed >= seconds || iterations >= 1 << 34 {
                return Double(iterations) * Double(PERISCOPE_BF16_OPERATIONS_PER_ITERATION) / elapsed * 1e-9
            }
            iterations *= 2
        }
        #else
        return nil
        #endif
    }
}
