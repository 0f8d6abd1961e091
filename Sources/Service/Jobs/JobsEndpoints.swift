import HTTP

/// `/v1/jobs`: submit a dataset extraction job, list jobs, show one, cancel one (admin scope).
struct JobsEndpoints {
    let context: ServiceContext
    let jobs: JobManager

    /// Largest job body (options only: the data stays on the server).
    static let maxBodyBytes = 64 * 1024

    func submit(_ request: HTTPRequest) async throws -> HTTPResponse {
        if let type = RequestParameters.mediaType(request), type != "application/json" {
            throw ServiceError.unsupportedMediaType(type, expected: ["application/json"])
        }
        let body = try await request.body.collect(upTo: Self.maxBodyBytes)
        let record = try await jobs.submit(body)
        var headers = HTTPHeaders()
        headers.add(name: "Location", value: "/v1/jobs/\(record.id)")
        return HTTPResponse(status: .accepted, contentType: "application/json",
                            body: try JobView.body(JobView(record, itemsPerSecond: 0)), headers: headers)
    }

    func list() throws -> HTTPResponse { .json(bytes: try JobView.body(try jobs.jobs())) }

    func job(_ request: HTTPRequest) throws -> HTTPResponse { .json(bytes: try JobView.body(try jobs.job(id: request.pathParameter("id")))) }

    func cancel(_ request: HTTPRequest) async throws -> HTTPResponse {
        let view = try await jobs.cancel(id: request.pathParameter("id"))
        return .json(bytes: try JobView.body(view), status: view.state == "cancelled" ? .ok : .accepted)
    }
}
