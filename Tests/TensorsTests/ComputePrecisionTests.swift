import Testing
@testable import Tensors

@Suite struct ComputePrecisionTests {
    /// float32 and int8 run everywhere. bfloat16 runs exactly where the CPU has AVX512_BF16 (and the
    /// build has the kernel); elsewhere it is refused, never emulated, and the reason names the feature.
    @Test func bfloat16IsAvailableExactlyWithTheCPUFeature() throws {
        #expect(ComputePrecision.float32.unavailableReason == nil)
        #expect(ComputePrecision.int8.unavailableReason == nil)
        let hasFeature = CPUFeatures.current.contains(["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16"])
        #if arch(x86_64)
        #expect(BFloat16GEMM.isBuilt)
        #expect(BFloat16GEMM.isAvailable == hasFeature)
        #endif
        if BFloat16GEMM.isAvailable {
            #expect(ComputePrecision.bfloat16.unavailableReason == nil)
        } else {
            let reason = try #require(ComputePrecision.bfloat16.unavailableReason)
            #expect(reason.contains("AVX512"))
            #expect(reason.contains("lacks") == !CPUFeatures.current.contains(["avx512_bf16"]))
        }
        #expect(ComputePrecision.allCases.map(\.rawValue) == ["float32", "bfloat16", "int8"])
    }

    /// The blocking reads this core's L2 from sysfs (1 MiB on Zen 4) and falls back to 1 MiB.
    @Test func level2CacheSizeIsPlausible() {
        #expect(CPUCache.level2Bytes >= 128 << 10 && CPUCache.level2Bytes <= 64 << 20)
    }
}
