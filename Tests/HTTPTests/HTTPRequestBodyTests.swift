import Synchronization
import Testing
@testable import HTTP

@Suite struct HTTPRequestBodyTests {
    @Test func bufferedBodyIsOneChunk() async throws {
        let body = HTTPRequestBody(bytes: [1, 2, 3])
        #expect(body.bytes == [1, 2, 3] && !body.isStreaming)
        var chunks: [[UInt8]] = []
        for try await chunk in body { chunks.append(chunk) }
        #expect(chunks == [[1, 2, 3]])
        #expect(try await body.collect() == [1, 2, 3])
        await #expect(throws: HTTPError.self) { _ = try await body.collect(upTo: 2) }
    }

    @Test func streamDeliversChunksInOrderAndEnds() async throws {
        let (body, writer) = HTTPRequestBody.makeStream()
        let reader = Task { try await body.collect() }
        for index in 0..<50 { writer.write([UInt8](repeating: UInt8(index), count: 10)) }
        writer.finish()
        #expect(try await reader.value == (0..<50).flatMap { [UInt8](repeating: UInt8($0), count: 10) })
        #expect(body.isStreaming && body.bytes == nil)
    }

    @Test func producerIsToldToPauseAboveTheHighWaterMarkAndResumedBelowHalf() async throws {
        let demands = Atomic<Int>(0)
        let stream = HTTPBodyStream(highWaterMark: 100) { demands.add(1, ordering: .relaxed) }
        #expect(stream.append([UInt8](repeating: 0, count: 60)) == false)
        #expect(stream.append([UInt8](repeating: 0, count: 60)) == true)  // 120 > 100: pause
        _ = try await stream.next()  // first read: demand (for 100-continue); 60 left, above half
        #expect(demands.load(ordering: .relaxed) == 1)
        _ = try await stream.next()  // 0 left: below half, resume
        #expect(demands.load(ordering: .relaxed) == 2)
    }

    @Test func failureReachesTheReader() async throws {
        let (body, writer) = HTTPRequestBody.makeStream()
        writer.write([1])
        writer.fail(HTTPError.contentTooLarge(limit: 1))
        var iterator = body.makeAsyncIterator()
        #expect(try await iterator.next() == [1])
        await #expect(throws: HTTPError.contentTooLarge(limit: 1)) { _ = try await iterator.next() }
    }

    @Test func cancellingTheReaderEndsTheWait() async throws {
        let (body, _) = HTTPRequestBody.makeStream()
        let reader = Task { try await body.collect() }
        try await Task.sleep(for: .milliseconds(20))
        reader.cancel()
        await #expect(throws: CancellationError.self) { _ = try await reader.value }
    }
}
