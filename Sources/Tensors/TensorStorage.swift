import Foundation

/// The bytes behind one or more tensors: 64-byte aligned, either owned (freed on deinit) or
/// borrowed from an owner that keeps them alive (a memory-mapped file).
///
/// Storage is shared between tensor values; `Tensor` copies it before a write when it is
/// not uniquely referenced or not writable (copy-on-write).
public final class TensorStorage: @unchecked Sendable {
    /// Alignment of owned allocations: one cache line, and the widest SIMD load.
    public static let alignment = 64

    public let base: UnsafeMutableRawPointer
    public let byteCount: Int
    /// Borrowed bytes (e.g. a read-only file mapping) are never written in place.
    public let isWritable: Bool
    private let owner: AnyObject?
    /// The size of a block from `LargeBlockCache` (0: from `posix_memalign`, or borrowed).
    private let largeBlockSize: Int

    /// Allocates `byteCount` uninitialized, 64-byte-aligned bytes (large ones through `LargeBlockCache`).
    public init(byteCount: Int) {
        largeBlockSize = LargeBlockCache.blockSize(for: byteCount)
        if largeBlockSize > 0 {
            self.base = LargeBlockCache.shared.allocate(size: largeBlockSize)
        } else {
            var pointer: UnsafeMutableRawPointer?
            let result = posix_memalign(&pointer, TensorStorage.alignment, max(byteCount, TensorStorage.alignment))
            precondition(result == 0 && pointer != nil, "TensorStorage: cannot allocate \(byteCount) bytes")
            self.base = pointer!
        }
        self.byteCount = byteCount
        self.isWritable = true
        self.owner = nil
    }

    /// Wraps bytes that `owner` keeps alive. The storage keeps a strong reference to it.
    public init(borrowing base: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject, writable: Bool = false) {
        self.base = base
        self.byteCount = byteCount
        self.isWritable = writable
        self.owner = owner
        self.largeBlockSize = 0
    }

    deinit {
        guard owner == nil else { return }
        if largeBlockSize > 0 {
            LargeBlockCache.shared.release(base, size: largeBlockSize)
        } else {
            free(base)
        }
    }

    /// Frees the large blocks kept for reuse (`LargeBlockCache`): after a model is unloaded, so
    /// resident memory drops by what its activations held.
    public static func releaseCachedBlocks() { LargeBlockCache.shared.drain() }

    /// Bytes of freed large blocks kept for reuse.
    public static var cachedBlockBytes: Int { LargeBlockCache.shared.retainedBytes }
}
