/// The arithmetic a model version computes in. Float32 is the default and the reference; the
/// others trade accuracy (within the tolerances in docs/precision.md) for speed or memory.
public enum ComputePrecision: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Everything in float32.
    case float32
    /// bfloat16 weights and GEMM inputs with float32 accumulation (needs AVX512_BF16).
    case bfloat16
    /// Dynamic quantization of the linear layers: int8 weights per output channel, activations
    /// quantized per row at run time, int32 sums, float32 everywhere else.
    case int8

    public var description: String { rawValue }

    /// Why this CPU cannot compute in this precision, or nil when it can.
    ///
    /// bfloat16 is refused rather than emulated: without `vdpbf16ps` a bf16 GEMM would be slower
    /// than float32 while pretending to be the fast path, and it never falls back to float32 silently.
    public var unavailableReason: String? {
        switch self {
        case .float32, .int8:
            return nil
        case .bfloat16:
            if !CPUFeatures.current.contains(["avx512_bf16"]) {
                return "needs the CPU feature AVX512_BF16 (vdpbf16ps; avx512_bf16 in /proc/cpuinfo), which this CPU lacks; "
                    + "register the version as float32 or int8"
            }
            if !BFloat16GEMM.isBuilt {
                return "this build has no bfloat16 GEMM (it is built for x86-64 only); register the version as float32 or int8"
            }
            if !BFloat16GEMM.isAvailable {
                return "needs the CPU features AVX512F, AVX512BW, AVX512VL and AVX512DQ besides AVX512_BF16; "
                    + "register the version as float32 or int8"
            }
            return nil
        }
    }
}
