import Foundation
import Logging
import Testing
@testable import HTTP

@Suite struct AccessLogMiddlewareTests {
    private func record(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func oneLinePerRequestWithStatusBytesAndId() async throws {
        let sink = CapturingLogSink()
        let logger = Logger(label: "access", sink: sink)
        let chain = ResponderFunction { _, _ in .text("hello") }.withStandardMiddleware(logger: logger)
        _ = try await chain.respond(to: HTTPRequest(method: .post, target: "/v1/x%20y?q=1"), context: RequestContext(requestId: "r-1"))
        #expect(sink.lines.count == 1)
        let line = try record(sink.lines[0])
        #expect(line["msg"] as? String == "request")
        #expect(line["level"] as? String == "info")
        #expect(line["logger"] as? String == "access")
        #expect(line["method"] as? String == "POST")
        #expect(line["path"] as? String == "/v1/x y")
        #expect(line["status"] as? Int == 200)
        #expect(line["bytes"] as? Int == 5)
        #expect(line["request_id"] as? String == "r-1")
        #expect(line["duration_ms"] is Double || line["duration_ms"] is Int)
        #expect((line["ts"] as? String)?.hasSuffix("Z") == true)
    }

    @Test func mappedErrorsAreLoggedWithTheirStatus() async throws {
        let sink = CapturingLogSink()
        let chain = ResponderFunction { _, _ in throw HTTPError(.conflict, "exists") }.withStandardMiddleware(logger: Logger(label: "a", sink: sink))
        let response = try await chain.respond(to: HTTPRequest(method: .get, target: "/"), context: RequestContext())
        #expect(response.status == .conflict)
        #expect(try record(sink.lines[0])["status"] as? Int == 409)
    }

    @Test func streamedBodiesAreLoggedAfterTheLastChunk() async throws {
        let sink = CapturingLogSink()
        let chain = ResponderFunction { _, _ in
            .stream(contentType: "text/plain") { writer in
                try await writer.write("abc")
                try await writer.write("defg")
            }
        }.withStandardMiddleware(logger: Logger(label: "a", sink: sink))
        let response = try await chain.respond(to: HTTPRequest(method: .get, target: "/"), context: RequestContext())
        #expect(sink.lines.isEmpty)
        #expect(try await response.collectBody() == Array("abcdefg".utf8))
        #expect(try record(sink.lines[0])["bytes"] as? Int == 7)
        // HEAD: the producer never runs, the line is written at once.
        _ = try await chain.respond(to: HTTPRequest(method: .head, target: "/"), context: RequestContext())
        #expect(sink.lines.count == 2)
        #expect(try record(sink.lines[1])["bytes"] as? Int == 0)
    }
}
