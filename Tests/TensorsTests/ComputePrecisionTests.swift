import Testing
@testable import Tensors

@Suite struct ComputePrecisionTests {
    /// bfloat16 is refused, never emulated: the reason names AVX512_BF16 whether the CPU lacks it
    /// or this build lacks the kernel; float32 and int8 run everywhere.
    @Test func onlyBfloat16IsUnavailable() throws {
        #expect(ComputePrecision.float32.unavailableReason == nil)
        #expect(ComputePrecision.int8.unavailableReason == nil)
        let reason = try #require(ComputePrecision.bfloat16.unavailableReason)
        #expect(reason.contains("AVX512_BF16"))
        #expect(reason.contains("lacks") == !CPUFeatures.current.contains(["avx512_bf16"]))
        #expect(ComputePrecision.allCases.map(\.rawValue) == ["float32", "bfloat16", "int8"])
    }
}
