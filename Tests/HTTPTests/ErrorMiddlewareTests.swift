import Foundation
import Logging
import Testing
@testable import HTTP

@Suite struct ErrorMiddlewareTests {
    enum ModelError: HTTPResponseError {
        case queueFull
        var status: HTTPStatus { .tooManyRequests }
        var message: String { "the request queue is full" }
        var headers: HTTPHeaders { ["Retry-After": "1"] }
    }

    struct Unexpected: Error {}

    private func respond(throwing error: any Error, sink: CapturingLogSink) async throws -> HTTPResponse {
        let chain = MiddlewareChain([ErrorMiddleware(logger: Logger(label: "t", sink: sink))],
                                    responder: ResponderFunction { _, _ in throw error })
        return try await chain.respond(to: HTTPRequest(method: .get, target: "/x"), context: RequestContext(requestId: "req-9"))
    }

    @Test func errorWithStatusBecomesThatStatusAndJSON() async throws {
        let sink = CapturingLogSink()
        let response = try await respond(throwing: ModelError.queueFull, sink: sink)
        #expect(response.status.code == 429)
        #expect(response.headers["retry-after"] == "1")
        #expect(response.headers["content-type"] == "application/json")
        let body = try JSONSerialization.jsonObject(with: Data(try await response.collectBody())) as? [String: String]
        #expect(body == ["error": "the request queue is full", "error_type": "queue_full"])
        #expect(sink.lines.isEmpty)
    }

    @Test func otherErrorsAre500WithTheRequestIdAndAreLogged() async throws {
        let sink = CapturingLogSink()
        let response = try await respond(throwing: Unexpected(), sink: sink)
        #expect(response.status.code == 500)
        let body = try JSONSerialization.jsonObject(with: Data(try await response.collectBody())) as? [String: String]
        #expect(body == ["error": "internal server error (request id req-9)", "error_type": "internal"])
        #expect(sink.lines.count == 1)
        #expect(sink.lines[0].contains("\"request_id\":\"req-9\"") && sink.lines[0].contains("Unexpected"))
    }

    @Test func parseErrorsCarryTheirStatus() {
        let response = HTTPResponse.forError(HTTPParseError.headTooLarge(limit: 10), requestId: "r")
        #expect(response.status.code == 431)
    }

    @Test func messagesAreEscapedIntoValidJSON() async throws {
        let response = HTTPResponse.error(status: .badRequest, message: "bad \"quote\" \\ and\nnewline \u{1}", errorType: "bad_request")
        let body = try JSONSerialization.jsonObject(with: Data(try await response.collectBody())) as? [String: String]
        #expect(body?["error"] == "bad \"quote\" \\ and\nnewline \u{1}")
    }
}
