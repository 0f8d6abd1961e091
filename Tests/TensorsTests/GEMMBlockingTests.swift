import Testing
@testable import Tensors

@Suite struct GEMMBlockingTests {
    /// KC is the largest power of two whose 6 rows of A fill at most half of L1; the panels fill L2.
    @Test func derivesDepthFromLevel1AndPanelsFromLevel2() {
        // Zen 3: 32 KiB L1d, 512 KiB L2.
        #expect(GEMMBlocking.derived(kernel: .avx2, level1Bytes: 32 << 10, level2Bytes: 512 << 10) == GEMMBlocking(depth: 512, panels: 16))
        // A Xeon with 48 KiB L1d and 2 MiB L2.
        #expect(GEMMBlocking.derived(kernel: .avx2, level1Bytes: 48 << 10, level2Bytes: 2 << 20) == GEMMBlocking(depth: 1024, panels: 32))
        // Tiny or unreadable caches still give a usable blocking.
        #expect(GEMMBlocking.derived(kernel: .portable, level1Bytes: 1024, level2Bytes: 4096) == GEMMBlocking(depth: 128, panels: 2))
        // AVX-512 keeps the long blocks measured on Zen 4.
        #expect(GEMMBlocking.derived(kernel: .avx512, level1Bytes: 32 << 10, level2Bytes: 1 << 20) == GEMMBlocking(depth: 4608, panels: 8))
    }

    @Test func cacheSizesAreReadFromTheSystem() {
        #expect(CPUCache.level1DataBytes >= 4096)
        #expect(CPUCache.level2Bytes >= CPUCache.level1DataBytes)
    }
}
