import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Freed large tensor allocations kept for the next allocation of the same size.
///
/// A forward pass allocates the same activation sizes on every request. glibc serves blocks above
/// its mmap threshold (at most 32 MiB) with fresh mappings and smaller ones from heaps that
/// `malloc_trim` returns to the OS, so every request page-faulted its large activations in again:
/// ConvNeXt-Tiny at batch 8 spent more time faulting in its 38.5 MB stage-1 activations than
/// multiplying them. Blocks of at least `minimumBytes` are rounded up to 64 KiB, and from 2 MiB to
/// whole huge pages (transparent huge pages requested with `madvise`, so a first touch faults
/// 2 MiB, not 4 KiB), and
/// on release kept here, up to `capacity` bytes in all, for reuse; beyond that they are freed.
/// `drain()` frees every kept block (after a model unload, so resident memory shows the unload).
final class LargeBlockCache: Sendable {
    static let shared = LargeBlockCache(capacity: min(1 << 30, Int(ProcessInfo.processInfo.physicalMemory / 8)))

    /// Allocations below this size use `posix_memalign` directly.
    static let minimumBytes = 256 << 10
    /// Blocks of a huge page or more are whole huge pages, 2 MiB aligned.
    static let granule = 2 << 20
    /// Smaller blocks are whole multiples of this.
    static let smallGranule = 64 << 10

    /// Kept blocks by size, as addresses (raw pointers are not `Sendable`).
    private struct State {
        var blocks: [Int: [UInt]] = [:]
        var retainedBytes = 0
    }

    /// Most bytes kept for reuse.
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    /// The size a request of `byteCount` bytes is served with (0: not a large block).
    static func blockSize(for byteCount: Int) -> Int {
        if byteCount < minimumBytes { return 0 }
        let unit = byteCount < granule ? smallGranule : granule
        return (byteCount + unit - 1) / unit * unit
    }

    /// A block of `size` bytes (a `blockSize`), reused when one is kept, else newly mapped.
    func allocate(size: Int) -> UnsafeMutableRawPointer {
        let reused: UInt? = state.withLock { state in
            guard let block = state.blocks[size]?.popLast() else { return nil }
            state.retainedBytes -= size
            return block
        }
        if let reused, let block = UnsafeMutableRawPointer(bitPattern: reused) { return block }
        var pointer: UnsafeMutableRawPointer?
        let isHuge = size >= Self.granule
        let result = posix_memalign(&pointer, isHuge ? Self.granule : TensorStorage.alignment, size)
        precondition(result == 0 && pointer != nil, "TensorStorage: cannot allocate \(size) bytes")
        #if canImport(Glibc)
        if isHuge { _ = madvise(pointer, size, MADV_HUGEPAGE) }
        #endif
        return pointer!
    }

    /// Keeps `block` (of `size` bytes) for reuse, or frees it when the cache is full.
    func release(_ block: UnsafeMutableRawPointer, size: Int) {
        let kept = state.withLock { state in
            guard state.retainedBytes + size <= capacity else { return false }
            state.blocks[size, default: []].append(UInt(bitPattern: block))
            state.retainedBytes += size
            return true
        }
        if !kept { free(block) }
    }

    /// Frees every kept block.
    func drain() {
        let blocks = state.withLock { state in
            defer { state = State() }
            return state.blocks.values.flatMap { $0 }
        }
        for block in blocks { free(UnsafeMutableRawPointer(bitPattern: block)) }
    }

    /// Bytes kept for reuse now.
    var retainedBytes: Int { state.withLock { $0.retainedBytes } }
}
