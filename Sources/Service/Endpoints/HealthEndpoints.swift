import HTTP

/// Liveness, readiness, metrics, and their V2 counterparts (`/v2`, `/v2/health/live|ready`).
struct HealthEndpoints {
    let context: ServiceContext

    /// The server's version in `/v2`'s metadata.
    static let serverVersion = "0.1.0"

    /// `/metrics`: the Prometheus text.
    func metrics() -> HTTPResponse {
        HTTPResponse(contentType: MetricsRegistry.textContentType, body: Array(context.metrics.exposition().utf8))
    }

    /// `/v2`: the server's metadata.
    func serverMetadata() -> HTTPResponse {
        .json(#"{"name":"periscope","version":"\#(Self.serverVersion)","extensions":["binary_tensor_data","model_repository","statistics"]}"#)
    }

    /// `/v2/health/ready`: `/readyz` without a body.
    func v2Ready() throws -> HTTPResponse {
        _ = try readiness()
        return HTTPResponse(status: .ok)
    }

    /// `/readyz`: 200 with the loaded versions, or 503 saying what is missing.
    func readiness() throws -> HTTPResponse {
        if context.isDraining { throw ServiceError.shuttingDown }
        let readiness = context.manager.readiness
        guard readiness.isReady else {
            throw HTTPError(.serviceUnavailable, "not ready: loading " + readiness.pending.joined(separator: ", "), errorType: "unavailable")
        }
        let buffer = JSONOutputBuffer(capacity: 256)
        buffer.append(raw: #"{"status":"ready","models":["#)
        for (index, entry) in readiness.models.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(raw: #"{"name":"#)
            buffer.append(string: entry.key.name)
            buffer.append(raw: #","version":"#)
            buffer.append(integer: entry.key.version)
            buffer.append(raw: #","status":"#)
            buffer.append(string: entry.status)
            buffer.append(UInt8(ascii: "}"))
        }
        buffer.append(raw: "]}")
        return .json(bytes: buffer.takeBytes())
    }
}
