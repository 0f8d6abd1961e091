#if canImport(Glibc)
import Glibc
#endif

/// Returns free heap pages to the operating system after a model is unloaded, so resident memory
/// drops by what was freed (glibc keeps freed chunks otherwise, and RSS would not show the unload);
/// and fixes glibc's mmap threshold for serving.
enum MemoryTrim {
    private typealias TrimFunction = @convention(c) (Int) -> Int32
    private typealias OptionFunction = @convention(c) (Int32, Int32) -> Int32

    /// glibc's `M_MMAP_THRESHOLD` (malloc.h).
    private static let mmapThresholdOption: Int32 = -3
    /// The threshold serving fixes: glibc's initial value. scripts/soak measured resident memory
    /// flat at this value (+0.1 % in 4 min after warm-up), and still growing at 1 MiB (+43 %).
    static let servingMmapThreshold = 128 * 1024

    /// glibc's `malloc_trim` (not exported to Swift by the Glibc module), looked up once.
    private static let trim: TrimFunction? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: TrimFunction.self)
        #else
        return nil
        #endif
    }()

    /// glibc's `mallopt` (not exported to Swift by the Glibc module), looked up once.
    private static let option: OptionFunction? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return nil }
        return unsafeBitCast(symbol, to: OptionFunction.self)
        #else
        return nil
        #endif
    }()

    /// Serves allocations of `bytes` or more with their own mappings, unmapped when freed. Setting
    /// it also stops glibc's default of raising the threshold to the size of each large block
    /// freed: under concurrent load that moves activations and response buffers onto the arenas'
    /// heaps, whose fragments are never returned, and resident memory grows for as long as the load
    /// lasts. Returns whether the allocator accepted it (false without glibc).
    @discardableResult
    static func setMappedAllocationThreshold(bytes: Int) -> Bool {
        guard let option, let value = Int32(exactly: bytes) else { return false }
        return option(mmapThresholdOption, value) == 1
    }

    /// Releases free memory at the top of the heap and in every arena; a no-op without glibc.
    static func releaseFreeMemory() {
        _ = trim?(0)
    }
}
