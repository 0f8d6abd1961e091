import Testing
@testable import Service

@Suite struct MemoryTrimTests {
    /// glibc accepts the serving threshold (the soak's figures depend on it); a value mallopt
    /// cannot take is refused without calling it.
    @Test func theServingMmapThresholdIsAccepted() {
        #if canImport(Glibc)
        #expect(ServiceServer.configureAllocatorForServing())
        #expect(MemoryTrim.servingMmapThreshold == 128 * 1024)
        #endif
        #expect(!MemoryTrim.setMappedAllocationThreshold(bytes: Int(Int32.max) + 1))
    }
}
