import Testing
@testable import HTTP

@Suite struct RequestIdMiddlewareTests {
    @Test func responseCarriesTheContextsId() async throws {
        let chain = MiddlewareChain([RequestIdMiddleware()], responder: ResponderFunction { _, _ in .text("x") })
        let response = try await chain.respond(to: HTTPRequest(method: .get, target: "/"), context: RequestContext(requestId: "abc"))
        #expect(response.headers["x-request-id"] == "abc")
    }

    @Test(arguments: [("client-1", "client-1"), ("", nil), (String(repeating: "a", count: 129), nil), ("has space", nil)] as [(String, String?)])
    func clientIdIsUsedWhenSane(sent: String, expected: String?) {
        let id = RequestContext.requestId(from: ["X-Request-Id": sent])
        if let expected { #expect(id == expected) } else { #expect(id != sent && id.count == 29) }
    }

    @Test func generatedIdsAreUnique() {
        let ids = (0..<1000).map { _ in RequestContext.generateRequestId() }
        #expect(Set(ids).count == 1000)
    }
}
