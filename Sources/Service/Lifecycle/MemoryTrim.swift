import Foundation
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// Returns free heap pages to the operating system after a model is unloaded, so resident memory
/// drops by what was freed (glibc keeps freed chunks otherwise, and RSS would not show the unload);
/// and, while serving, periodically.
enum MemoryTrim {
    private typealias TrimFunction = @convention(c) (Int) -> Int32

    /// How often serving returns free heap pages. glibc keeps the pages of freed blocks inside its
    /// arenas' heaps; under concurrent load those fragments accumulate and resident memory grew 31 %
    /// in 10 minutes of scripts/soak. Alternatives measured and rejected: limiting glibc to 2
    /// arenas still grew 16 %; fixing the mmap threshold at 128 KiB kept memory flat but made every
    /// activation a fresh mapping to fault in (p50 +27 % on ResNet-50 and +50 % on MiniLM requests,
    /// two scripts/bench-service runs on a quiet machine). A trim every few seconds costs one burst
    /// of page faults per period.
    static let servingReleaseInterval: TimeInterval = 5

    /// glibc's `malloc_trim` (not exported to Swift by the Glibc module), looked up once.
    private static let trim: TrimFunction? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: TrimFunction.self)
        #else
        return nil
        #endif
    }()

    /// Starts a background thread that calls `releaseFreeMemory()` every `interval` seconds for
    /// the life of the process. Returns false without glibc (nothing to trim).
    @discardableResult
    static func startPeriodicRelease(every interval: TimeInterval) -> Bool {
        guard let trim else { return false }
        Thread.detachNewThread {
            while true {
                Thread.sleep(forTimeInterval: interval)
                _ = trim(0)
            }
        }
        return true
    }

    /// Frees the tensor blocks kept for reuse and releases free memory at the top of the heap and
    /// in every arena (the latter a no-op without glibc). After an unload; the periodic release
    /// leaves the kept blocks alone (they are bounded, and reusing them is their point).
    static func releaseFreeMemory() {
        TensorStorage.releaseCachedBlocks()
        _ = trim?(0)
    }
}
