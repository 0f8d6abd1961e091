import Testing
@testable import HTTP

@Suite struct RouterTests {
    private func makeRouter() -> Router {
        var router = Router()
        router.get("/healthz") { _, _ in .text("health") }
        router.get("/v1/models") { _, _ in .text("list") }
        router.post("/v1/models") { _, _ in .text("register") }
        router.get("/v1/models/{name}") { request, _ in .text("show \(request.pathParameter("name"))") }
        router.delete("/v1/models/{name}") { request, _ in .text("delete \(request.pathParameter("name"))") }
        router.post("/v1/models/{name}/features") { request, _ in .text("features \(request.pathParameter("name")) latest") }
        router.post("/v1/models/{name}/versions/{v}/features") { request, _ in
            .text("features \(request.pathParameter("name")) \(request.pathParameter("v"))")
        }
        router.post("/v2/models/{m}/versions/{v}/infer") { request, _ in
            .text("infer \(request.pathParameter("m")) \(request.pathParameter("v"))")
        }
        router.get("/v2/models/{m}/ready") { request, _ in .text("ready \(request.pathParameter("m"))") }
        router.get("/v2/models/stats") { _, _ in .text("literal stats") }
        router.put("/v1/models/{name}/weights", body: .streaming(maxSize: 1 << 30)) { _, _ in .text("upload") }
        return router
    }

    private func call(_ router: Router, _ method: HTTPMethod, _ target: String) async throws -> String {
        let response = try await router.respond(to: HTTPRequest(method: method, target: target), context: RequestContext())
        return String(decoding: try await response.collectBody(), as: UTF8.self)
    }

    @Test(arguments: [
        (HTTPMethod.get, "/healthz", "health"),
        (.get, "/v1/models", "list"),
        (.post, "/v1/models", "register"),
        (.get, "/v1/models/resnet18", "show resnet18"),
        (.delete, "/v1/models/resnet18", "delete resnet18"),
        (.post, "/v1/models/bert/features", "features bert latest"),
        (.post, "/v1/models/bert/versions/3/features", "features bert 3"),
        (.post, "/v2/models/vit/versions/1/infer", "infer vit 1"),
        (.get, "/v2/models/vit/ready", "ready vit"),
        (.get, "/v2/models/stats", "literal stats"),
        (.get, "/v2/models/stats/ready", "ready stats"),
        (.get, "/v1/models/my%20model%2Fv2", "show my model/v2"),
        (.get, "/healthz/", "health"),
        (.get, "//v1//models", "list"),
        (.get, "/v1/models?x=1", "list"),
    ] as [(HTTPMethod, String, String)])
    func routesMatchWithParameters(method: HTTPMethod, target: String, expected: String) async throws {
        #expect(try await call(makeRouter(), method, target) == expected)
    }

    @Test func unknownPathIs404() async throws {
        await #expect(throws: HTTPError(.notFound, "no route for GET /v1/nothing")) {
            _ = try await call(makeRouter(), .get, "/v1/nothing")
        }
        await #expect(throws: HTTPError.self) { _ = try await call(makeRouter(), .get, "/v1/models/a/b/c/d") }
    }

    @Test func knownPathWithOtherMethodIs405WithAllow() async throws {
        do {
            _ = try await call(makeRouter(), .patch, "/v1/models/x")
            Issue.record("expected 405")
        } catch let error as HTTPError {
            #expect(error.status == .methodNotAllowed)
            #expect(error.headers["allow"] == "DELETE, GET, HEAD")
            #expect(error.errorType == "method_not_allowed")
        }
    }

    @Test func headFallsBackToGet() async throws {
        #expect(try await call(makeRouter(), .head, "/v1/models/x") == "show x")
        await #expect(throws: HTTPError.self) { _ = try await call(makeRouter(), .head, "/v1/models/x/features") }
    }

    @Test func bodyPolicyFollowsTheRoute() {
        let router = makeRouter()
        #expect(router.bodyPolicy(for: HTTPRequestHead(method: .put, target: "/v1/models/a/weights")) == .streaming(maxSize: 1 << 30))
        #expect(router.bodyPolicy(for: HTTPRequestHead(method: .post, target: "/v1/models")) == .buffered())
        #expect(router.bodyPolicy(for: HTTPRequestHead(method: .post, target: "/unknown")) == .buffered())
    }

    @Test func literalBeatsParameterButBacktracks() async throws {
        var router = Router()
        router.get("/a/{x}/c") { request, _ in .text("param \(request.pathParameter("x"))") }
        router.get("/a/b/d") { _, _ in .text("literal") }
        #expect(try await call(router, .get, "/a/b/d") == "literal")
        #expect(try await call(router, .get, "/a/b/c") == "param b")
    }
}
