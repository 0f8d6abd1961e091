import Testing
@testable import HTTP

@Suite struct MiddlewareChainTests {
    /// Appends its name to a header on the way out, to show the order.
    struct Tag: HTTPMiddleware {
        let name: String
        func respond(to request: HTTPRequest, context: RequestContext, next: any Responder) async throws -> HTTPResponse {
            var response = try await next.respond(to: request, context: context)
            response.headers.add(name: "X-Order", value: name)
            return response
        }
    }

    @Test func firstMiddlewareIsOutermost() async throws {
        let chain = MiddlewareChain([Tag(name: "outer"), Tag(name: "inner")], responder: ResponderFunction { _, _ in .text("x") })
        let response = try await chain.respond(to: HTTPRequest(method: .get, target: "/"), context: RequestContext())
        #expect(response.headers.values(for: "x-order") == ["inner", "outer"])
    }

    @Test func bodyPolicyComesFromTheInnerResponder() {
        let chain = MiddlewareChain([Tag(name: "a")], responder: ResponderFunction(bodyPolicy: .streaming(maxSize: 5)) { _, _ in .text("x") })
        #expect(chain.bodyPolicy(for: HTTPRequestHead(method: .post, target: "/")) == .streaming(maxSize: 5))
    }
}
