import HTTP

/// What a request is, from its method and path alone, before routing: the endpoint name metrics
/// use, the scope access control requires, and the model it names. One table for both, so the
/// scope of an endpoint and its metrics name cannot drift apart.
struct ServiceRoute: Equatable {
    /// A short name (`features`, `v2_infer`, `model_load`, …); `other` for unknown paths.
    var endpoint: String
    /// The scope the request needs; nil for the open endpoints (health, metrics).
    var scope: AccessScope?
    /// The model named in the path, if any (not validated).
    var model: String?

    /// Classifies `method` and the (percent-decoded) `path`.
    static func classify(method: HTTPMethod, path: String) -> ServiceRoute {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        switch segments.count {
        // The Inspector page and the API docs are open: they hold no data, and the page asks for a
        // token itself when the API needs one.
        case 0: return ServiceRoute(endpoint: "inspector", scope: nil)
        case 1 where segments[0] == "inspector": return ServiceRoute(endpoint: "inspector", scope: nil)
        case 1 where segments[0] == "docs": return ServiceRoute(endpoint: "docs", scope: nil)
        case 1 where segments[0] == "openapi.yaml": return ServiceRoute(endpoint: "openapi", scope: nil)
        case 2 where segments[0] == "assets": return ServiceRoute(endpoint: "inspector_asset", scope: nil)
        case 1 where segments[0] == "healthz": return ServiceRoute(endpoint: "healthz", scope: nil)
        case 1 where segments[0] == "readyz": return ServiceRoute(endpoint: "readyz", scope: nil)
        case 1 where segments[0] == "metrics": return ServiceRoute(endpoint: "metrics", scope: nil)
        default: break
        }
        if segments.first == "v1", segments.count >= 2, segments[1] == "models" {
            return classifyNative(method: method, segments: Array(segments.dropFirst(2)))
        }
        if segments.first == "v1", segments.count >= 2, segments[1] == "jobs" {
            // Jobs read and write files on the server: administrators only.
            switch (segments.count, method) {
            case (2, .post): return ServiceRoute(endpoint: "jobs_submit", scope: .admin)
            case (2, _): return ServiceRoute(endpoint: "jobs_list", scope: .admin)
            case (3, .delete): return ServiceRoute(endpoint: "job_cancel", scope: .admin)
            case (3, _): return ServiceRoute(endpoint: "job_get", scope: .admin)
            default: return ServiceRoute(endpoint: "other", scope: .admin)
            }
        }
        if segments.first == "v2" {
            return classifyV2(method: method, segments: Array(segments.dropFirst()))
        }
        return ServiceRoute(endpoint: "other", scope: .infer)
    }

    /// `/v1/models…`, given the segments after `models`.
    private static func classifyNative(method: HTTPMethod, segments: [String]) -> ServiceRoute {
        guard let name = segments.first else {
            return method == .post ? ServiceRoute(endpoint: "models_register", scope: .admin) : ServiceRoute(endpoint: "models_list", scope: .infer)
        }
        let rest = Array(segments.dropFirst())
        switch (rest.count, rest.first) {
        case (0, _):
            return method == .delete ? ServiceRoute(endpoint: "model_delete", scope: .admin, model: name)
                                     : ServiceRoute(endpoint: "model_get", scope: .infer, model: name)
        case (1, "load"): return ServiceRoute(endpoint: "model_load", scope: method == .post ? .admin : .infer, model: name)
        case (1, "unload"): return ServiceRoute(endpoint: "model_unload", scope: method == .post ? .admin : .infer, model: name)
        case (1, "layers"): return ServiceRoute(endpoint: "layers", scope: .infer, model: name)
        case (1, "features"): return ServiceRoute(endpoint: "features", scope: .infer, model: name)
        case (1, "attributions"): return ServiceRoute(endpoint: "attributions", scope: .infer, model: name)
        case (2, "versions"):
            return method == .delete ? ServiceRoute(endpoint: "version_delete", scope: .admin, model: name)
                                     : ServiceRoute(endpoint: "other", scope: .infer, model: name)
        case (3, "versions") where rest[2] == "features": return ServiceRoute(endpoint: "features", scope: .infer, model: name)
        default: return ServiceRoute(endpoint: "other", scope: .infer, model: name)
        }
    }

    /// `/v2…`, given the segments after `v2`.
    private static func classifyV2(method: HTTPMethod, segments: [String]) -> ServiceRoute {
        guard let first = segments.first else { return ServiceRoute(endpoint: "v2_server_metadata", scope: .infer) }
        switch first {
        case "health":
            if segments.count == 2 && segments[1] == "live" { return ServiceRoute(endpoint: "v2_live", scope: nil) }
            if segments.count == 2 && segments[1] == "ready" { return ServiceRoute(endpoint: "v2_ready", scope: nil) }
            return ServiceRoute(endpoint: "other", scope: .infer)
        case "repository":
            if segments.count == 2 && segments[1] == "index" { return ServiceRoute(endpoint: "repository_index", scope: .admin) }
            if segments.count == 4 && segments[1] == "models" {
                let endpoint = segments[3] == "load" ? "repository_load" : segments[3] == "unload" ? "repository_unload" : "other"
                return ServiceRoute(endpoint: endpoint, scope: .admin, model: segments[2])
            }
            return ServiceRoute(endpoint: "other", scope: .admin)
        case "models":
            guard segments.count >= 2 else { return ServiceRoute(endpoint: "other", scope: .infer) }
            let name = segments[1]
            var rest = Array(segments.dropFirst(2))
            if rest.count >= 2 && rest[0] == "versions" { rest.removeFirst(2) }
            switch rest.first {
            case nil: return ServiceRoute(endpoint: "v2_model_metadata", scope: .infer, model: name)
            case "ready" where rest.count == 1: return ServiceRoute(endpoint: "v2_model_ready", scope: .infer, model: name)
            case "infer" where rest.count == 1: return ServiceRoute(endpoint: "v2_infer", scope: .infer, model: name)
            case "stats" where rest.count == 1: return ServiceRoute(endpoint: "v2_stats", scope: .infer, model: name)
            default: return ServiceRoute(endpoint: "other", scope: .infer, model: name)
            }
        default:
            return ServiceRoute(endpoint: "other", scope: .infer)
        }
    }
}
