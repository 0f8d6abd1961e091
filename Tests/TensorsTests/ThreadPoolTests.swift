import Synchronization
import Testing
import Tensors

@Suite struct ThreadPoolTests {
    @Test(arguments: [1, 2, 3, 5])
    func everyIndexRunsExactlyOnce(threadCount: Int) {
        let pool = ThreadPool(threadCount: threadCount)
        defer { pool.shutdown() }
        for count in [0, 1, 2, 7, 1000] {
            let hits = Mutex([Int](repeating: 0, count: count))
            pool.parallelFor(count) { i in hits.withLock { $0[i] += 1 } }
            #expect(hits.withLock { $0.allSatisfy { $0 == 1 } })
        }
    }

    @Test func manyShortJobsInARowAllComplete() {
        // Workers that miss a job (not scheduled in time) must not stall the next one.
        let pool = ThreadPool(threadCount: 2, spinMicroseconds: 0)
        defer { pool.shutdown() }
        let total = Atomic<Int>(0)
        for _ in 0..<20_000 {
            pool.parallelFor(2) { _ in total.add(1, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 40_000)
    }

    @Test func nestedParallelForRunsSeriallyInsideAJob() {
        let pool = ThreadPool(threadCount: 2)
        defer { pool.shutdown() }
        let total = Atomic<Int>(0)
        ThreadPool.withCurrent(pool) {
            pool.parallelFor(4) { _ in
                ThreadPool.current.parallelFor(3) { _ in total.add(1, ordering: .relaxed) }
            }
        }
        #expect(total.load(ordering: .relaxed) == 12)
    }

    @Test func chunksCoverTheRangeWithoutOverlap() {
        let pool = ThreadPool(threadCount: 2)
        defer { pool.shutdown() }
        let hits = Mutex([Int](repeating: 0, count: 101))
        pool.parallelChunks(101, minimumChunk: 10) { range in
            hits.withLock { for i in range { $0[i] += 1 } }
        }
        #expect(hits.withLock { $0.allSatisfy { $0 == 1 } })
    }

    @Test func currentPoolIsScopedToTheThread() {
        let pool = ThreadPool(threadCount: 1)
        defer { pool.shutdown() }
        ThreadPool.withCurrent(pool) { #expect(ThreadPool.current === pool) }
        #expect(ThreadPool.current === ThreadPool.shared)
    }
}
