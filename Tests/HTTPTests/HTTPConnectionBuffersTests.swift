#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import HTTP

/// The connection's bookkeeping, without sockets: the input buffer it reads into, the output queue
/// it writes from, and the queue of actions its state machine decided.
@Suite struct HTTPConnectionBuffersTests {
    /// What one `writev` of the queue's vectors would send, at most `limit` bytes.
    private func gathered(_ queue: HTTPOutputQueue, limit: Int = .max) -> [UInt8] {
        queue.withUnsafeVectors { vectors in
            var bytes: [UInt8] = []
            for vector in vectors {
                bytes += UnsafeRawBufferPointer(start: vector.iov_base, count: vector.iov_len)
            }
            return Array(bytes.prefix(limit))
        }
    }

    @Test func outputQueueSendsInOrderAcrossPartialWrites() {
        var queue = HTTPOutputQueue()
        queue.append(Array("head\r\n".utf8))
        queue.append([])  // not queued
        queue.append(Array("body".utf8))
        #expect(queue.count == 10 && queue.unsentBytes == Array("head\r\nbody".utf8))
        #expect(queue.withUnsafeVectors { $0.count } == 2)
        queue.consume(3)  // part of the first array
        #expect(gathered(queue) == Array("d\r\nbody".utf8))
        queue.consume(5)  // the rest of the first and part of the second
        #expect(queue.count == 2 && gathered(queue) == Array("dy".utf8))
        queue.consume(2)
        #expect(queue.isEmpty && queue.withUnsafeVectors { $0.count } == 0)
        queue.append([1, 2])
        #expect(queue.unsentBytes == [1, 2])
        queue.removeAll()
        #expect(queue.isEmpty && queue.unsentBytes.isEmpty)
    }

    @Test func outputQueueLendsAtMostSixteenVectorsAndCompactsItsArrays() {
        var queue = HTTPOutputQueue()
        for index in 0..<200 { queue.append([UInt8(truncatingIfNeeded: index)]) }
        #expect(queue.withUnsafeVectors { $0.count } == 16)
        for index in 0..<199 {
            #expect(gathered(queue, limit: 1) == [UInt8(truncatingIfNeeded: index)])
            queue.consume(1)
        }
        #expect(queue.unsentBytes == [199])
    }

    @Test func inputBufferCompactsGrowsAndStopsAtItsLimit() {
        var input = HTTPInputBuffer(initialCapacity: 8, capacityLimit: 32)
        func fill(_ input: inout HTTPInputBuffer, _ byte: UInt8) -> Int {
            guard let space = input.reserveSpace() else { return 0 }
            for index in 0..<space.count { space[index] = byte }
            input.commit(space.count)
            return space.count
        }
        #expect(fill(&input, 1) == 8)
        input.consume(6)
        // The end is reached with consumed bytes before it: compacted, not grown.
        #expect(fill(&input, 2) == 6)
        #expect(Array(input.readable) == [1, 1] + [UInt8](repeating: 2, count: 6))
        // Full from the start: doubled, up to the limit.
        #expect(fill(&input, 3) == 8)
        #expect(fill(&input, 4) == 16)
        #expect(input.count == 32)
        #expect(input.reserveSpace() == nil)
        input.consume(32)
        #expect(input.isEmpty && input.reserveSpace()?.count == 32)
    }

    @Test func actionQueueIsFirstInFirstOutAcrossWrapAndGrowth() {
        var queue = HTTPConnectionActionQueue(capacity: 2)
        #expect(queue.popFirst() == nil)
        queue.append(.deliverBody([1]))
        queue.append(.deliverBody([2]))
        #expect(body(queue.popFirst()) == [1])
        queue.append(.deliverBody([3]))  // wraps around
        queue.append(.deliverBody([4]))  // grows, keeping the order
        queue.append(.deliverBody([5]))
        #expect(queue.count == 4)
        #expect((0..<4).map { _ in body(queue.popFirst()) } == [[2], [3], [4], [5]])
        #expect(queue.isEmpty && queue.popFirst() == nil)
        queue.append(.deliverBody([6]))  // left in the queue: released with it
    }

    private func body(_ action: HTTPConnectionAction?) -> [UInt8]? {
        if case .deliverBody(let bytes) = action { return bytes }
        return nil
    }
}
