import Testing
@testable import HTTP

/// Response heads and framing decisions, byte for byte.
@Suite struct HTTPResponseHeadSerializerTests {
    private let serializer = HTTPResponseHeadSerializer(serverHeaderLine: Array("Server: Test\r\n".utf8))
    private let date = "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"

    private func serialize(_ response: HTTPResponse, method: HTTPMethod? = .get, version: HTTPVersion = .http1_1,
                           keepAlive: Bool = true, requestId: String? = "rid") -> HTTPResponseHeadSerializer.Output {
        let date = date
        return serializer.serialize(response, method: method, version: version, keepAlive: keepAlive, requestId: requestId,
                                    dateLine: { Array(date.utf8) })
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func completeBodyGetsLengthDateServerAndRequestId() {
        let output = serialize(.text("hi"))
        #expect(text(output.head) == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n" + date
                + "Server: Test\r\nX-Request-Id: rid\r\nContent-Length: 2\r\n\r\nhi")
        #expect(output.body.isEmpty && output.producer == nil && output.keepAlive)
    }

    @Test func handlerFramingFieldsAreReplacedAndItsOwnFieldsKept() {
        let headers = HTTPHeaders([("Content-Length", "99"), ("Transfer-Encoding", "gzip"), ("Connection", "close"),
                                   ("Date", "then"), ("Server", "mine"), ("X-Request-Id", "own"), ("Bad Name", "x"),
                                   ("X-Split", "a\r\nInjected: 1")])
        let output = serialize(HTTPResponse(status: .noContent, headers: headers))
        // 204 forbids a body: no Content-Length at all; the handler's Connection: close ends keep-alive.
        #expect(text(output.head) == "HTTP/1.1 204 No Content\r\nDate: then\r\nServer: mine\r\nX-Request-Id: own\r\n"
                + "Connection: close\r\n\r\n")
        #expect(!output.keepAlive)
    }

    @Test func largeBodyIsQueuedAsItsOwnArray() {
        let body = [UInt8](repeating: 7, count: HTTPResponseHeadSerializer.inlineBodyLimit + 1)
        let output = serialize(HTTPResponse(body: .bytes(body)))
        #expect(text(output.head).hasSuffix("Content-Length: 16385\r\n\r\n"))
        #expect(output.body == body)
    }

    @Test func headKeepsTheLengthButDropsTheBody() {
        let output = serialize(.text("hello"), method: .head)
        #expect(text(output.head).hasSuffix("Content-Length: 5\r\n\r\n"))
        let streamed = serialize(.stream(contentType: "text/plain") { _ in }, method: .head)
        #expect(text(streamed.head).contains("Transfer-Encoding: chunked\r\n") && streamed.producer == nil)
    }

    @Test func streamedBodyIsChunkedOrHasItsDeclaredLengthOrEndsWithTheConnection() {
        let chunked = serialize(.stream(contentType: "text/plain") { _ in })
        #expect(text(chunked.head).contains("Transfer-Encoding: chunked\r\n") && chunked.producer != nil)
        #expect(chunked.framing == .chunked && chunked.keepAlive)

        let declared = serialize(.stream(contentType: "text/plain", headers: ["Content-Length": "3"]) { _ in })
        #expect(text(declared.head).contains("Content-Length: 3\r\n") && !text(declared.head).contains("chunked"))
        #expect(declared.framing == .identity(remaining: 3))

        let old = serialize(.stream(contentType: "text/plain") { _ in }, version: .http1_0)
        #expect(!text(old.head).contains("chunked") && text(old.head).hasSuffix("Connection: close\r\n\r\n"))
        #expect(old.framing == .closeDelimited && !old.keepAlive)
    }

    @Test func connectionFieldFollowsKeepAliveAndVersion() {
        #expect(text(serialize(.text(""), keepAlive: false).head).hasSuffix("Connection: close\r\n\r\n"))
        #expect(text(serialize(.text(""), version: .http1_0).head).hasSuffix("Connection: keep-alive\r\n\r\n"))
        // Made before any head was read (a 400 for a malformed request line): HTTP/1.1, no id of the client's.
        let early = serialize(.text("bad", status: .badRequest), method: nil, keepAlive: false, requestId: nil)
        #expect(text(early.head).hasPrefix("HTTP/1.1 400 Bad Request\r\n") && !text(early.head).contains("X-Request-Id"))
    }

    @Test func bodyFramingEncodesChunksAndChecksTheDeclaredLength() {
        var output = HTTPOutputQueue()
        var chunked = HTTPResponseBodyFraming.chunked
        #expect(chunked.encode(Array("hello".utf8), into: &output))
        #expect(chunked.finish(into: &output))
        #expect(text(output.unsentBytes) == "5\r\nhello\r\n0\r\n\r\n")

        output.removeAll()
        let large = [UInt8](repeating: 1, count: 64 * 1024 + 1)
        #expect(chunked.encode(large, into: &output))
        #expect(output.unsentBytes == Array("10001\r\n".utf8) + large + [13, 10])

        output.removeAll()
        var identity = HTTPResponseBodyFraming.identity(remaining: 4)
        #expect(identity.encode([1, 2, 3], into: &output))
        #expect(!identity.finish(into: &output))  // one byte short
        #expect(!identity.encode([4, 5], into: &output))  // one byte over: nothing queued
        #expect(identity.encode([4], into: &output) && identity.finish(into: &output))
        #expect(output.unsentBytes == [1, 2, 3, 4])
    }
}
