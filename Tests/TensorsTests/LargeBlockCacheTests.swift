import Foundation
import Testing
@testable import Tensors

/// The reuse of freed large tensor blocks: same size back, the capacity bound, draining.
@Suite struct LargeBlockCacheTests {
    @Test func sizesAreWholeGranules() {
        #expect(LargeBlockCache.blockSize(for: LargeBlockCache.minimumBytes - 1) == 0)
        #expect(LargeBlockCache.blockSize(for: LargeBlockCache.minimumBytes + 1) == LargeBlockCache.minimumBytes + LargeBlockCache.smallGranule)
        #expect(LargeBlockCache.blockSize(for: LargeBlockCache.granule - 1) == LargeBlockCache.granule)
        #expect(LargeBlockCache.blockSize(for: LargeBlockCache.granule + 1) == 2 * LargeBlockCache.granule)
    }

    @Test func aReleasedBlockServesTheNextAllocationOfItsSize() {
        let cache = LargeBlockCache(capacity: 8 * LargeBlockCache.granule)
        let size = 2 * LargeBlockCache.granule
        let first = cache.allocate(size: size)
        first.storeBytes(of: 42, as: Int.self)
        cache.release(first, size: size)
        #expect(cache.retainedBytes == size)
        let other = cache.allocate(size: LargeBlockCache.granule)
        #expect(other != first)
        #expect(cache.allocate(size: size) == first)
        #expect(cache.retainedBytes == 0)
        cache.release(first, size: size)
        cache.release(other, size: LargeBlockCache.granule)
        cache.drain()
        #expect(cache.retainedBytes == 0)
    }

    @Test func blocksBeyondTheCapacityAreFreed() {
        let cache = LargeBlockCache(capacity: 3 * LargeBlockCache.granule)
        let size = 2 * LargeBlockCache.granule
        let blocks = (0..<3).map { _ in cache.allocate(size: size) }
        for block in blocks { cache.release(block, size: size) }
        #expect(cache.retainedBytes == size)
        cache.drain()
        #expect(cache.retainedBytes == 0)
    }

    @Test func largeTensorsComeFromHugePageBlocks() {
        let large = Tensor(uninitializedShape: [3, 512, 512])  // 3 MiB
        #expect(UInt(bitPattern: large.storage.base) % UInt(LargeBlockCache.granule) == 0)
        let small = Tensor(uninitializedShape: [16, 16])
        #expect(UInt(bitPattern: small.storage.base) % UInt(TensorStorage.alignment) == 0)
    }
}
