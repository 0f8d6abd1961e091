#if canImport(Glibc)
import Glibc
#endif

/// Returns free heap pages to the operating system after a model is unloaded, so resident memory
/// drops by what was freed (glibc keeps freed chunks otherwise, and RSS would not show the unload).
enum MemoryTrim {
    private typealias TrimFunction = @convention(c) (Int) -> Int32

    /// glibc's `malloc_trim` (not exported to Swift by the Glibc module), looked up once.
    private static let trim: TrimFunction? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: TrimFunction.self)
        #else
        return nil
        #endif
    }()

    /// Releases free memory at the top of the heap and in every arena; a no-op without glibc.
    static func releaseFreeMemory() {
        _ = trim?(0)
    }
}
