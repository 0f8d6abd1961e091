import HTTP

extension ServiceRoute {
    /// Every route of the service, each declared once. `answers` are the statuses the handler
    /// itself can give; `statuses` adds the ones every route or every scoped route can answer.
    static let table: [ServiceRoute] = [
        // Health and metrics: open.
        ServiceRoute(.get, "/healthz", "healthz", scope: nil, answers: [200]) { _, _, _ in .text("ok\n") },
        ServiceRoute(.get, "/readyz", "readyz", scope: nil, answers: [200, 503]) { endpoints, _, _ in try endpoints.health.readiness() },
        ServiceRoute(.get, "/metrics", "metrics", scope: nil, answers: [200]) { endpoints, _, _ in endpoints.health.metrics() },

        // The native registry.
        ServiceRoute(.get, "/v1/models", "models_list", scope: .infer, answers: [200, 503]) { endpoints, _, _ in
            try endpoints.registry.list()
        },
        ServiceRoute(.post, "/v1/models", "models_register", scope: .admin, answers: [201, 400, 404, 409, 415, 503, 507],
                     body: .upload) { endpoints, request, _ in try await endpoints.registry.registerModel(request) },
        ServiceRoute(.get, "/v1/models/{name}", "model_get", scope: .infer, answers: [200, 400, 404, 503]) { endpoints, request, _ in
            try endpoints.registry.model(request)
        },
        ServiceRoute(.delete, "/v1/models/{name}", "model_delete", scope: .admin, answers: [204, 400, 404, 409, 503]) { endpoints, request, _ in
            try await endpoints.registry.remove(request)
        },
        ServiceRoute(.delete, "/v1/models/{name}/versions/{version}", "version_delete", scope: .admin,
                     answers: [204, 400, 404, 409, 503]) { endpoints, request, _ in try await endpoints.registry.removeVersion(request) },
        ServiceRoute(.post, "/v1/models/{name}/load", "model_load", scope: .admin, answers: [200, 400, 404, 409, 503]) { endpoints, request, _ in
            try await endpoints.registry.load(request)
        },
        ServiceRoute(.post, "/v1/models/{name}/unload", "model_unload", scope: .admin, answers: [200, 400, 404, 409, 503]) { endpoints, request, _ in
            try await endpoints.registry.unload(request)
        },
        ServiceRoute(.get, "/v1/models/{name}/layers", "layers", scope: .infer, answers: [200, 400, 404, 503]) { endpoints, request, _ in
            try await endpoints.registry.layers(request)
        },

        // Features, attributions, tokens, embeddings.
        ServiceRoute(.post, "/v1/models/{name}/features", "features", scope: .infer, answers: [200, 400, 404, 415, 429, 503],
                     deadline: true) { endpoints, request, context in try await endpoints.features.extract(request, context, version: nil) },
        ServiceRoute(.post, "/v1/models/{name}/versions/{version}/features", "features", scope: .infer,
                     answers: [200, 400, 404, 415, 429, 503], deadline: true) { endpoints, request, context in
            try await endpoints.features.extract(request, context, version: RequestParameters.pathVersion(request))
        },
        ServiceRoute(.post, "/v1/models/{name}/attributions", "attributions", scope: .infer, answers: [200, 400, 404, 415, 429, 503],
                     deadline: true) { endpoints, request, context in try await endpoints.attributions.attribute(request, context) },
        ServiceRoute(.post, "/v1/models/{name}/tokenize", "tokenize", scope: .infer, answers: [200, 400, 404, 429, 503]) { endpoints, request, context in
            try await endpoints.tokenize.tokenize(request, context, version: nil)
        },
        ServiceRoute(.post, "/v1/models/{name}/versions/{version}/tokenize", "tokenize", scope: .infer,
                     answers: [200, 400, 404, 429, 503]) { endpoints, request, context in
            try await endpoints.tokenize.tokenize(request, context, version: RequestParameters.pathVersion(request))
        },
        ServiceRoute(.post, "/v1/embeddings", "embeddings", scope: .infer, answers: [200, 400, 404, 415, 429, 503],
                     deadline: true) { endpoints, request, context in try await endpoints.embeddings.answer(request, context) },

        // The Open Inference Protocol (V2) and Triton's extensions.
        ServiceRoute(.get, "/v2", "v2_server_metadata", scope: .infer, answers: [200, 503]) { endpoints, _, _ in
            endpoints.health.serverMetadata()
        },
        ServiceRoute(.get, "/v2/health/live", "v2_live", scope: nil, answers: [200, 503]) { _, _, _ in HTTPResponse(status: .ok) },
        ServiceRoute(.get, "/v2/health/ready", "v2_ready", scope: nil, answers: [200, 503]) { endpoints, _, _ in try endpoints.health.v2Ready() },
        ServiceRoute(.get, "/v2/models/{model}", "v2_model_metadata", scope: .infer, answers: [200, 400, 404, 503]) { endpoints, request, _ in
            try endpoints.inference.metadata(request, version: nil)
        },
        ServiceRoute(.get, "/v2/models/{model}/versions/{version}", "v2_model_metadata", scope: .infer,
                     answers: [200, 400, 404, 503]) { endpoints, request, _ in
            try endpoints.inference.metadata(request, version: RequestParameters.pathVersion(request))
        },
        ServiceRoute(.get, "/v2/models/{model}/ready", "v2_model_ready", scope: .infer, answers: [200, 400, 404, 503]) { endpoints, request, _ in
            try endpoints.inference.ready(request, version: nil)
        },
        ServiceRoute(.get, "/v2/models/{model}/versions/{version}/ready", "v2_model_ready", scope: .infer,
                     answers: [200, 400, 404, 503]) { endpoints, request, _ in
            try endpoints.inference.ready(request, version: RequestParameters.pathVersion(request))
        },
        ServiceRoute(.post, "/v2/models/{model}/infer", "v2_infer", scope: .infer, answers: [200, 400, 404, 415, 429, 503],
                     deadline: true) { endpoints, request, context in try await endpoints.inference.infer(request, context, version: nil) },
        ServiceRoute(.post, "/v2/models/{model}/versions/{version}/infer", "v2_infer", scope: .infer,
                     answers: [200, 400, 404, 415, 429, 503], deadline: true) { endpoints, request, context in
            try await endpoints.inference.infer(request, context, version: RequestParameters.pathVersion(request))
        },
        ServiceRoute(.get, "/v2/models/{model}/stats", "v2_stats", scope: .infer, answers: [200, 400, 404, 503]) { endpoints, request, _ in
            try endpoints.inference.statistics(request)
        },
        ServiceRoute(.post, "/v2/repository/index", "repository_index", scope: .admin, answers: [200, 400, 415, 503]) { endpoints, request, _ in
            try endpoints.repository.index(request)
        },
        ServiceRoute(.post, "/v2/repository/models/{model}/load", "repository_load", scope: .admin,
                     answers: [200, 400, 404, 409, 415, 503]) { endpoints, request, _ in try await endpoints.repository.load(request) },
        ServiceRoute(.post, "/v2/repository/models/{model}/unload", "repository_unload", scope: .admin,
                     answers: [200, 400, 404, 409, 415, 503]) { endpoints, request, _ in try await endpoints.repository.unload(request) },

        // Dataset extraction jobs: they read and write files on the server, administrators only.
        ServiceRoute(.post, "/v1/jobs", "jobs_submit", scope: .admin, answers: [202, 400, 404, 409, 415, 503]) { endpoints, request, _ in
            try await endpoints.jobs.submit(request)
        },
        ServiceRoute(.get, "/v1/jobs", "jobs_list", scope: .admin, answers: [200, 503]) { endpoints, _, _ in try endpoints.jobs.list() },
        ServiceRoute(.get, "/v1/jobs/{id}", "job_get", scope: .admin, answers: [200, 404, 503]) { endpoints, request, _ in
            try endpoints.jobs.job(request)
        },
        ServiceRoute(.delete, "/v1/jobs/{id}", "job_cancel", scope: .admin, answers: [200, 202, 404, 409, 503]) { endpoints, request, _ in
            try await endpoints.jobs.cancel(request)
        },

        // The Inspector page and the API docs are open: they hold no data, and the page asks for a
        // token itself when the API needs one. `/inspector/` and `/docs/` redirect (308) to the
        // path without the slash.
        ServiceRoute(.get, "/", "inspector", scope: nil, answers: [200, 304]) { endpoints, request, _ in
            try endpoints.inspector.page("index.html", request)
        },
        ServiceRoute(.get, "/inspector", "inspector", scope: nil, answers: [200, 304, 308]) { endpoints, request, _ in
            try endpoints.inspector.page("index.html", request)
        },
        ServiceRoute(.get, "/docs", "docs", scope: nil, answers: [200, 304, 308]) { endpoints, request, _ in
            try endpoints.inspector.page("docs.html", request)
        },
        ServiceRoute(.get, "/openapi.yaml", "openapi", scope: nil, answers: [200, 304]) { endpoints, request, _ in
            try endpoints.inspector.asset("openapi.yaml", request)
        },
        ServiceRoute(.get, "/assets/{file}", "inspector_asset", scope: nil, answers: [200, 304, 404]) { endpoints, request, _ in
            try endpoints.inspector.namedAsset(request)
        },
    ]
}
