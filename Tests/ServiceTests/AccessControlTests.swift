import Foundation
import Logging
import Testing
@testable import Service

/// Bearer tokens and scopes: the tokens file, the three modes, 401 vs 403, nothing secret logged.
@Suite struct AccessControlTests {
    static let adminToken = "admin-0123456789abcdef0123456789abcdef"
    static let inferToken = "infer-fedcba9876543210fedcba9876543210"

    static func tokensFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "periscope-tokens-\(UUID().uuidString).json"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func tokensFileGivesEachTokenItsScopes() throws {
        let path = try Self.tokensFile(#"{"tokens": [{"token": "\#(Self.adminToken)", "scopes": ["admin", "infer"]}, {"token": "\#(Self.inferToken)", "scopes": ["infer"]}]}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let control = try AccessControl.load(tokensFile: path, insecureDevMode: true)
        #expect(control.mode == .tokens && control.tokenCount == 2 && control.allowsAdministration)
        #expect(control.scopes(forToken: Self.adminToken) == [.admin, .infer])
        #expect(control.scopes(forToken: Self.inferToken) == [.infer])
        #expect(control.scopes(forToken: Self.inferToken + "x") == nil)
        #expect(control.scopes(forToken: "") == nil)
        #expect(try AccessControl.load(tokensFile: nil, insecureDevMode: false).mode == .inferenceOnly)
        #expect(try AccessControl.load(tokensFile: nil, insecureDevMode: true).mode == .insecureDevelopment)
    }

    @Test(arguments: [
        (#"[]"#, "not a JSON object"),
        (#"{"tokens": []}"#, "non-empty array"),
        (#"{"tokens": [{"token": "secret-value", "scopes": ["root"]}]}"#, "'root' is not a scope"),
        (#"{"tokens": [{"token": "secret-value", "scopes": []}]}"#, "tokens[0].scopes"),
        (#"{"tokens": [{"token": "secret value", "scopes": ["infer"]}]}"#, "tokens[0].token"),
        (#"{"tokens": [{"token": "secret-value", "scopes": ["infer"], "note": 1}]}"#, "unknown key 'note'"),
        (#"{"tokens": [{"token": "secret-value", "scopes": ["infer"]}, {"token": "secret-value", "scopes": ["admin"]}]}"#, "repeats"),
        (#"{"keys": []}"#, "unknown key 'keys'"),
    ])
    func invalidTokensFilesAreRefusedWithoutShowingTokens(_ text: String, _ problem: String) throws {
        let path = try Self.tokensFile(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try AccessControl.load(tokensFile: path, insecureDevMode: false)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains(problem), "\(error)")
            #expect(!error.description.contains("secret"))
        }
        #expect(throws: AccessControlError.self) { try AccessControl.load(tokensFile: path + ".missing", insecureDevMode: false) }
    }

    /// The matrix over a socket: open endpoints, infer and admin endpoints with no token, an unknown
    /// token, an infer token and an admin token; then the logs hold no token.
    @Test func statusMatrixWithTokens() async throws {
        let sink = CapturingLogSink()
        let control = AccessControl(tokens: [(Self.adminToken, [.admin, .infer]), (Self.inferToken, [.infer])])
        let service = try await LiveService.start([.mlp("mlp")], accessControl: control, logger: Logger(label: "test", sink: sink))
        do {
            let features = (method: "POST", path: "/v1/models/mlp/features", body: RegistryEndpointsTests.mlpInput)
            let load = (method: "POST", path: "/v1/models/mlp/load", body: "")
            let index = (method: "POST", path: "/v2/repository/index", body: "")
            let metadata = (method: "GET", path: "/v2/models/mlp", body: "")
            // (endpoint, no token, unknown token, infer token, admin token)
            let rows: [((method: String, path: String, body: String), [Int])] = [
                ((method: "GET", path: "/healthz", body: ""), [200, 200, 200, 200]),
                ((method: "GET", path: "/metrics", body: ""), [200, 200, 200, 200]),
                ((method: "GET", path: "/readyz", body: ""), [200, 200, 200, 200]),
                (features, [401, 401, 200, 200]),
                (metadata, [401, 401, 200, 200]),
                (load, [401, 401, 403, 200]),
                (index, [401, 401, 403, 200]),
            ]
            for (endpoint, statuses) in rows {
                for (column, token) in [nil, "not-a-token", Self.inferToken, Self.adminToken].enumerated() {
                    var headers = ["Content-Type": "application/json"]
                    if let token { headers["Authorization"] = "Bearer \(token)" }
                    let reply = try await service.request(endpoint.method, endpoint.path, body: endpoint.body.isEmpty ? nil : Array(endpoint.body.utf8), headers: headers)
                    #expect(reply.status == statuses[column], "\(endpoint.method) \(endpoint.path) with \(token ?? "no token"): \(reply.status) \(reply.text)")
                    if reply.status == 401 {
                        #expect(reply.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
                        #expect(reply.errorType == "unauthorized")
                    }
                    if reply.status == 403 { #expect(reply.errorType == "forbidden") }
                }
            }
            let basic = try await service.request("GET", "/v2/models/mlp", headers: ["Authorization": "Basic \(Self.inferToken)"])
            #expect(basic.status == 401 && basic.headers["www-authenticate"]?.contains("invalid_request") == true)
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
        let logged = sink.lines.joined(separator: "\n")
        #expect(logged.contains("\"status\":401") && logged.contains("\"status\":403"))
        #expect(!logged.contains(Self.adminToken) && !logged.contains(Self.inferToken) && !logged.contains("not-a-token"))
    }

    /// Without a tokens file (the embedded default) inference is open and administration is off.
    @Test func inferenceOnlyModeRefusesAdministration() async throws {
        let service = try await LiveService.start([.mlp("mlp")], accessControl: .inferenceOnly)
        do {
            #expect(try await service.post("/v1/models/mlp/features", json: RegistryEndpointsTests.mlpInput).status == 200)
            for (method, path) in [("POST", "/v1/models/mlp/unload"), ("DELETE", "/v1/models/mlp"), ("POST", "/v2/repository/index"), ("POST", "/v1/models")] {
                let reply = try await service.request(method, path, headers: ["Authorization": "Bearer \(Self.adminToken)"])
                #expect(reply.status == 403 && reply.errorType == "admin_disabled", "\(method) \(path): \(reply.text)")
            }
            #expect(try await service.get("/v2/models/mlp/ready").status == 200)
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
