import HTTP
import Testing
@testable import Service

/// The route table: every route's metrics name, scope and model parameter as a request finds them.
@Suite struct ServiceRouteTests {
    static let routes: PathTrie<ServiceRoute> = {
        var routes = PathTrie<ServiceRoute>()
        for route in ServiceRoute.table { routes.insert(route.method, route.pattern, route) }
        return routes
    }()

    @Test(arguments: [
        ("GET", "/healthz", "healthz", nil, nil),
        ("GET", "/readyz", "readyz", nil, nil),
        ("GET", "/metrics", "metrics", nil, nil),
        ("GET", "/v2/health/live", "v2_live", nil, nil),
        ("GET", "/v2/health/ready", "v2_ready", nil, nil),
        ("GET", "/v1/models", "models_list", "infer", nil),
        ("POST", "/v1/models", "models_register", "admin", nil),
        ("GET", "/v1/models/m", "model_get", "infer", "m"),
        ("DELETE", "/v1/models/m", "model_delete", "admin", "m"),
        ("DELETE", "/v1/models/m/versions/2", "version_delete", "admin", "m"),
        ("POST", "/v1/models/m/load", "model_load", "admin", "m"),
        ("POST", "/v1/models/m/unload", "model_unload", "admin", "m"),
        ("GET", "/v1/models/m/layers", "layers", "infer", "m"),
        ("POST", "/v1/models/m/features", "features", "infer", "m"),
        ("POST", "/v1/models/m/versions/3/features", "features", "infer", "m"),
        ("POST", "/v1/models/m/attributions", "attributions", "infer", "m"),
        ("POST", "/v1/models/m/tokenize", "tokenize", "infer", "m"),
        ("POST", "/v1/embeddings", "embeddings", "infer", nil),
        ("POST", "/v1/jobs", "jobs_submit", "admin", nil),
        ("GET", "/v1/jobs", "jobs_list", "admin", nil),
        ("GET", "/v1/jobs/0b8d", "job_get", "admin", nil),
        ("DELETE", "/v1/jobs/0b8d", "job_cancel", "admin", nil),
        ("GET", "/v2", "v2_server_metadata", "infer", nil),
        ("GET", "/v2/models/m", "v2_model_metadata", "infer", "m"),
        ("GET", "/v2/models/m/versions/1", "v2_model_metadata", "infer", "m"),
        ("GET", "/v2/models/m/ready", "v2_model_ready", "infer", "m"),
        ("POST", "/v2/models/m/versions/1/infer", "v2_infer", "infer", "m"),
        ("GET", "/v2/models/m/stats", "v2_stats", "infer", "m"),
        ("POST", "/v2/repository/index", "repository_index", "admin", nil),
        ("POST", "/v2/repository/models/m/load", "repository_load", "admin", "m"),
        ("POST", "/v2/repository/models/m/unload", "repository_unload", "admin", "m"),
        ("GET", "/", "inspector", nil, nil),
        ("GET", "/inspector", "inspector", nil, nil),
        ("GET", "/docs", "docs", nil, nil),
        ("GET", "/openapi.yaml", "openapi", nil, nil),
        ("GET", "/assets/inspector.js", "inspector_asset", nil, nil),
    ] as [(String, String, String, String?, String?)])
    func finds(_ method: String, _ path: String, _ endpoint: String, _ scope: String?, _ model: String?) throws {
        guard case .found(let route, let parameters) = Self.routes.match(method: HTTPMethod(method), rawPath: path) else {
            Issue.record("no route for \(method) \(path)")
            return
        }
        #expect(route.endpoint == endpoint)
        #expect(route.scope?.rawValue == scope)
        #expect(route.modelParameter.flatMap { parameters[$0] } == model)
    }

    /// Every status: the handler's own, the HTTP limits', the scope's and the deadline's.
    @Test func statusesAddWhatEveryRouteCanAnswer() throws {
        let features = try #require(ServiceRoute.table.first { $0.pattern == "/v1/models/{name}/features" })
        #expect(features.statuses == [200, 400, 401, 403, 404, 413, 414, 415, 429, 431, 503, 504])
        let healthz = try #require(ServiceRoute.table.first { $0.pattern == "/healthz" })
        #expect(healthz.statuses == [200, 413, 414, 431])
    }

    /// One entry per method and pattern; names are metrics labels (lower case, digits and underscores).
    @Test func entriesAreUniqueAndNamesAreLabels() {
        var seen = Set<String>()
        for route in ServiceRoute.table {
            #expect(seen.insert("\(route.method) \(route.pattern)").inserted, "\(route.method) \(route.pattern) twice")
            #expect(!route.endpoint.isEmpty && route.endpoint.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) },
                    "\(route.endpoint)")
        }
    }
}
