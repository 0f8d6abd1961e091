import Foundation
import Testing
@testable import Service

/// The Inspector page, the API docs and their assets over a real socket: content types,
/// validators, caching, conditional requests, and access without a token when auth is on.
@Suite struct InspectorEndpointsTests {
    @Test func servesPagesAndAssetsWithValidators() async throws {
        let service = try await LiveService.start([])
        do {
            for (path, name, type) in [("/", "index.html", "text/html"), ("/inspector", "index.html", "text/html"), ("/docs", "docs.html", "text/html"),
                                       ("/openapi.yaml", "openapi.yaml", "application/yaml"), ("/assets/inspector.js", "inspector.js", "text/javascript"),
                                       ("/assets/docs.js", "docs.js", "text/javascript"), ("/assets/inspector.css", "inspector.css", "text/css"),
                                       ("/assets/favicon.svg", "favicon.svg", "image/svg+xml")] {
                let asset = try #require(InspectorAsset.named(name))
                let reply = try await service.get(path)
                #expect(reply.status == 200, "\(path)")
                #expect(reply.headers["content-type"]?.hasPrefix(type) == true, "\(path): \(reply.headers["content-type"] ?? "-")")
                #expect(reply.headers["etag"] == asset.entityTag, "\(path)")
                #expect(reply.headers["cache-control"] == "no-cache", "\(path)")
                #expect(reply.headers["x-content-type-options"] == "nosniff", "\(path)")
                #expect(reply.body == asset.bytes, "\(path)")
                #expect((reply.headers["content-security-policy"] != nil) == type.hasPrefix("text/html"), "\(path)")

                let again = try await service.get(path, headers: ["If-None-Match": asset.entityTag])
                #expect(again.status == 304, "\(path)")
                #expect(again.body.isEmpty && again.headers["etag"] == asset.entityTag, "\(path)")
                #expect(try await service.get(path, headers: ["If-None-Match": "\"stale\""]).status == 200, "\(path)")
            }
            let head = try await service.request("HEAD", "/")
            #expect(head.status == 200 && head.body.isEmpty)
            #expect(try await service.get("/assets/missing.js").status == 404)
            #expect(try await service.get("/assets/index.html").status == 404)
            #expect(try await service.post("/", json: "{}").status == 405)
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// `/inspector/` would resolve the page's relative URLs against `/inspector/`: it redirects.
    @Test func trailingSlashRedirects() async throws {
        let service = try await LiveService.start([])
        let reply = try RawSocket.exchange(port: service.port, "GET /inspector/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.1 308"), "\(reply.prefix(80))")
        #expect(reply.contains("Location: ../inspector\r\n"), "\(reply.prefix(300))")
        await service.stop()
    }

    /// With authentication on, the page and the docs load without a token (the page asks for one);
    /// the API behind them does not.
    @Test func openWhenAuthenticationIsOn() async throws {
        let service = try await LiveService.start([], accessControl: AccessControl(tokens: [("secret-token", [.infer])]))
        #expect(try await service.get("/").status == 200)
        #expect(try await service.get("/docs").status == 200)
        #expect(try await service.get("/openapi.yaml").status == 200)
        #expect(try await service.get("/assets/inspector.js").status == 200)
        #expect(try await service.get("/v1/models").status == 401)
        #expect(try await service.get("/v1/models", headers: ["Authorization": "Bearer secret-token"]).status == 200)
        await service.stop()
    }
}
