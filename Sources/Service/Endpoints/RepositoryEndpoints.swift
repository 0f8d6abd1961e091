import HTTP
import Registry

/// Triton's model repository extension: the index of every registered version with its state,
/// and load/unload of a model's default version.
struct RepositoryEndpoints {
    let context: ServiceContext

    func load(_ request: HTTPRequest) async throws -> HTTPResponse {
        try Self.checkOptionalBody(request)
        let record = try await context.manager.load(name: request.pathParameter("model"))
        if let reason = record.status.reason {
            throw RequestError(field: "$", "model '\(record.name)' version \(record.version) failed to load: \(reason)")
        }
        return HTTPResponse(status: .ok)
    }

    func unload(_ request: HTTPRequest) async throws -> HTTPResponse {
        try Self.checkOptionalBody(request)
        _ = try await context.manager.unload(name: request.pathParameter("model"))
        return HTTPResponse(status: .ok)
    }

    /// `[{"name", "version", "state", "reason"}]` for every version (only READY ones with `{"ready": true}`).
    func index(_ request: HTTPRequest) throws -> HTTPResponse {
        var onlyReady = false
        if let fields = try Self.optionalBody(request) {
            try fields.rejectUnknownKeys(["ready"])
            onlyReady = try fields.bool("ready") ?? false
        }
        let buffer = JSONOutputBuffer(capacity: 1024)
        buffer.append(UInt8(ascii: "["))
        var first = true
        for model in try context.registry.models() {
            for version in model.versions {
                let phase = context.manager.phaseName(of: ModelKey(version))
                let state: String
                var reason: String?
                switch phase {
                case "ready": state = "READY"
                case "loading": state = "LOADING"
                case "unloading": state = "UNLOADING"
                default:
                    state = "UNAVAILABLE"
                    reason = version.status.reason ?? (phase == "unloaded" || version.status == .unloaded ? "unloaded" : "not loaded")
                }
                if onlyReady && state != "READY" { continue }
                if !first { buffer.append(UInt8(ascii: ",")) }
                first = false
                buffer.append(raw: #"{"name":"#)
                buffer.append(string: model.name)
                buffer.append(raw: #","version":"#)
                buffer.append(string: String(version.version))
                buffer.append(raw: #","state":"#)
                buffer.append(string: state)
                if let reason {
                    buffer.append(raw: #","reason":"#)
                    buffer.append(string: reason)
                }
                buffer.append(UInt8(ascii: "}"))
            }
        }
        buffer.append(UInt8(ascii: "]"))
        return .json(bytes: buffer.takeBytes())
    }

    /// The JSON object body of a repository request, nil when there is none.
    private static func optionalBody(_ request: HTTPRequest) throws -> FieldReader? {
        let body = request.body.bytes ?? []
        guard !body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else { return nil }
        switch RequestParameters.mediaType(request) {
        case "application/json", nil: break
        case let type?: throw ServiceError.unsupportedMediaType(type, expected: ["application/json"])
        }
        do {
            return try FieldReader(try JSONParser.parse(body), path: "$")
        } catch let error as JSONParseError {
            throw RequestError(error)
        }
    }

    /// Load/unload bodies: `{"parameters": {...}}` (string, number or boolean values; accepted,
    /// unused), or none.
    private static func checkOptionalBody(_ request: HTTPRequest) throws {
        guard let fields = try optionalBody(request) else { return }
        try fields.rejectUnknownKeys(["parameters"])
        guard let parameters = try fields.object("parameters") else { return }
        for (key, value) in parameters.object.members {
            switch value {
            case .string, .number, .bool: continue
            default: throw RequestError(field: parameters.field(key), "expected a string, number or boolean, found \(value.kindDescription)")
            }
        }
    }
}
