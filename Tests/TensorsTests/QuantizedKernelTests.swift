import Testing
@testable import Tensors

@Suite struct QuantizedKernelTests {
    @Test func availableKernelsFollowTheCPU() {
        #expect(QuantizedKernel.available.last == .portable)
        #expect(QuantizedKernel.preferred == QuantizedKernel.available[0])
        #if arch(x86_64)
        #expect(QuantizedKernel.available.contains(.avx2) == CPUFeatures.current.contains(["avx2"]))
        #expect(QuantizedKernel.available.contains(.avx512vnni) == CPUFeatures.current.contains(["avx512f", "avx512bw", "avx512_vnni"]))
        #endif
    }

    /// The register-only loop behind `bench kernels`: measured for the SIMD kernel, nil for portable.
    @Test(arguments: QuantizedKernel.available)
    func peakIsMeasuredForTheSIMDKernel(kernel: QuantizedKernel) {
        let peak = kernel.measurePeakGigaops(seconds: 0.01)
        #expect((peak == nil) == (kernel == .portable))
        if let peak { #expect(peak > 1, "\(peak) GOP/s") }
    }
}
