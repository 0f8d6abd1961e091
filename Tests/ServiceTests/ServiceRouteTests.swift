import HTTP
import Testing
@testable import Service

/// Every route's metrics name, scope and model, from method and path alone.
@Suite struct ServiceRouteTests {
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
        ("POST", "/v1/jobs", "jobs_submit", "admin", nil),
        ("GET", "/v1/jobs", "jobs_list", "admin", nil),
        ("GET", "/v1/jobs/0b8d", "job_get", "admin", nil),
        ("DELETE", "/v1/jobs/0b8d", "job_cancel", "admin", nil),
        ("GET", "/v1/jobs/0b8d/more", "other", "admin", nil),
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
        ("GET", "/nothing/here", "other", "infer", nil),
    ] as [(String, String, String, String?, String?)])
    func classifies(_ method: String, _ path: String, _ endpoint: String, _ scope: String?, _ model: String?) {
        let route = ServiceRoute.classify(method: HTTPMethod(method), path: path)
        #expect(route.endpoint == endpoint)
        #expect(route.scope?.rawValue == scope)
        #expect(route.model == model)
    }
}
