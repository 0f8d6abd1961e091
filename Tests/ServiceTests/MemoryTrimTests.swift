import Testing
@testable import Service

@Suite struct MemoryTrimTests {
    /// glibc's malloc_trim is found, so serving can start its periodic release (the soak's
    /// figures depend on it).
    @Test func servingCanReleaseFreeMemoryPeriodically() {
        #if canImport(Glibc)
        #expect(MemoryTrim.startPeriodicRelease(every: 3600))
        #endif
    }
}
