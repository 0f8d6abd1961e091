import HTTP

/// The Inspector web page and the API documentation, served from the binary: `GET /` and
/// `/inspector` (the page), `/docs` (openapi.yaml rendered), `/openapi.yaml`, and
/// `/assets/{file}` (scripts, styles, icon). Open to everyone like `/healthz`: the page holds no
/// data and asks for a bearer token itself when the API needs one.
///
/// Every URL inside the pages is relative, so the page also works behind a reverse proxy that
/// mounts the service under a path prefix.
struct InspectorEndpoints {
    /// `/assets/{file}`: any asset but the pages and the description, which have their own paths.
    func namedAsset(_ request: HTTPRequest) throws -> HTTPResponse {
        let name = request.pathParameter("file")
        guard name != "openapi.yaml", !name.hasSuffix(".html") else { throw Self.unknownAsset(name) }
        return try asset(name, request)
    }

    /// A page. `/inspector/` and `/docs/` redirect to the path without the slash: the pages' relative
    /// URLs (`assets/…`, `v1/…`) resolve against the directory, which the slash would change.
    func page(_ name: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let path = request.head.rawPath
        if path.count > 1 && path.hasSuffix("/") {
            let segment = path.split(separator: "/").last.map(String.init) ?? ""
            var response = HTTPResponse(status: HTTPStatus(code: 308))
            response.headers.add(name: "Location", value: "../" + segment)
            return response
        }
        return try asset(name, request)
    }

    func asset(_ name: String, _ request: HTTPRequest) throws -> HTTPResponse {
        guard let asset = InspectorAsset.named(name) else { throw Self.unknownAsset(name) }
        return asset.response(ifNoneMatch: request.headers["If-None-Match"])
    }

    private static func unknownAsset(_ name: String) -> HTTPError {
        HTTPError(.notFound, "no asset '\(name)'")
    }
}
