import Foundation
import HTTP
import Models
import NN
import Registry

/// The native model registry: list, register (by path or streamed upload), show, remove, load,
/// unload, and the layer listing.
struct RegistryEndpoints {
    let context: ServiceContext

    /// Largest JSON registration body.
    static let maxRegistrationBodyBytes = 1 << 20

    func list() throws -> HTTPResponse { .json(bytes: RegistryJSON.body(try context.registry.models())) }

    func model(_ request: HTTPRequest) throws -> HTTPResponse {
        .json(bytes: RegistryJSON.body(try context.registry.model(named: request.pathParameter("name"))))
    }

    func remove(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await context.manager.removeModel(name: request.pathParameter("name"))
        return HTTPResponse(status: .noContent)
    }

    func removeVersion(_ request: HTTPRequest) async throws -> HTTPResponse {
        let version = try RequestParameters.pathVersion(request)
        try await context.manager.removeVersion(name: request.pathParameter("name"), version: version)
        return HTTPResponse(status: .noContent)
    }

    func load(_ request: HTTPRequest) async throws -> HTTPResponse {
        let record = try await context.manager.load(name: request.pathParameter("name"), version: RequestParameters.queryVersion(request))
        return .json(bytes: RegistryJSON.body(record))
    }

    func unload(_ request: HTTPRequest) async throws -> HTTPResponse {
        let record = try await context.manager.unload(name: request.pathParameter("name"), version: RequestParameters.queryVersion(request))
        return .json(bytes: RegistryJSON.body(record))
    }

    func layers(_ request: HTTPRequest) async throws -> HTTPResponse {
        let model = try await context.manager.servedModel(name: request.pathParameter("name"), version: RequestParameters.queryVersion(request))
        return .json(bytes: Self.layerList(model))
    }

    // MARK: - Registration

    func registerModel(_ request: HTTPRequest) async throws -> HTTPResponse {
        let version: ModelVersion
        let parameters = try UploadParameters(request)
        switch RequestParameters.mediaType(request) {
        case "application/json", nil:
            let body = try await request.body.collect(upTo: Self.maxRegistrationBodyBytes)
            version = try await registerByPath(body)
        case "application/octet-stream":
            version = try await registerUpload(request, parameters)
        case let type?:
            throw ServiceError.unsupportedMediaType(type, expected: ["application/json", "application/octet-stream"])
        }
        context.logger.info("model registered", ["model": .string(version.name), "version": .int(version.version),
                                                 "architecture": .string(version.architecture), "bytes": .int(Int(version.byteCount))])
        var headers = HTTPHeaders()
        headers.add(name: "Location", value: "/v1/models/\(version.name)")
        return HTTPResponse(status: .created, contentType: "application/json", body: RegistryJSON.body(version), headers: headers)
    }

    /// `{"name", "architecture", "weights_path", "config"?, "description"?, "labels"?, "preload"?, "precision"?}`:
    /// a file already under the model root, registered where it is, once it has loaded. A directory
    /// (Hugging Face or sentence-transformers layout) stands for the `model.safetensors` in it, and
    /// its `config.json` is the configuration unless the body gives one.
    private func registerByPath(_ body: [UInt8]) async throws -> ModelVersion {
        let document: JSONValue
        do {
            document = try JSONParser.parse(body)
        } catch {
            throw RequestError(error)
        }
        let fields = try FieldReader(document, path: "$")
        try fields.rejectUnknownKeys(["name", "architecture", "weights_path", "config", "description", "labels", "preload", "precision"])
        var weightsPath = try fields.requiredString("weights_path")
        guard !weightsPath.isEmpty else { throw RequestError(field: "weights_path", "must not be empty") }
        // A model directory (Hugging Face or sentence-transformers) stands for its model.safetensors.
        var isDirectory: ObjCBool = false
        var directoryConfiguration: String?
        let absoluteDirectory = context.registry.modelRoot.absolutePath(weightsPath)
        if FileManager.default.fileExists(atPath: absoluteDirectory, isDirectory: &isDirectory), isDirectory.boolValue {
            weightsPath = (weightsPath.hasSuffix("/") ? String(weightsPath.dropLast()) : weightsPath) + "/model.safetensors"
            // Its config.json is the configuration when the body gives none (a Hugging Face directory).
            directoryConfiguration = try? String(contentsOfFile: absoluteDirectory + "/config.json", encoding: .utf8)
        }
        var configuration = directoryConfiguration ?? "{}"
        if fields.value("config") != nil {
            _ = try fields.object("config")
            // Re-serialized from the original text: the service's parser keeps numbers exact but writes no JSON.
            let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
            let data = try JSONSerialization.data(withJSONObject: object?["config"] ?? [:], options: [.sortedKeys])
            configuration = String(decoding: data, as: UTF8.self)
        }
        let registration = ModelRegistration(
            name: try fields.requiredString("name"), architecture: try fields.requiredString("architecture"),
            configuration: configuration, description: try Self.description(fields.string("description")),
            labels: try Self.labels(fields.object("labels")), preload: try fields.bool("preload"),
            precision: try fields.choice("precision", as: ModelPrecision.self) ?? .float32)
        try Self.validate(registration)
        let registry = context.registry
        let (_, absolutePath) = try registry.modelRoot.resolve(weightsPath)
        try await WeightsCheck.verifyLoadable(architecture: registration.architecture, configuration: configuration, path: absolutePath)
        let storedPath = weightsPath
        return try await BlockingWork.run { try registry.register(registration, weightsPath: storedPath) }
    }

    /// A safetensors body streamed into the model root (hashed as it arrives, never held in
    /// memory), checked to load, then committed; the metadata comes in the query.
    private func registerUpload(_ request: HTTPRequest, _ parameters: UploadParameters) async throws -> ModelVersion {
        let head = request.head
        guard let name = parameters.name else { throw ServiceError.invalidParameter(name: "name", problem: "is required for an upload") }
        guard let architecture = parameters.architecture else {
            throw ServiceError.invalidParameter(name: "architecture", problem: "is required for an upload")
        }
        let configuration = parameters.configuration ?? "{}"
        let labels = parameters.labels
        let expectedSHA256 = parameters.sha256
        let registration = ModelRegistration(
            name: name, architecture: architecture, configuration: configuration,
            description: parameters.description, labels: labels, preload: parameters.preload,
            precision: parameters.precision ?? .float32)
        try Self.validate(registration)
        var expectedBytes: Int64?
        if case .contentLength(let length) = head.bodyFraming { expectedBytes = Int64(length) }
        let upload = SendableUpload(try context.registry.beginUpload(expectedByteCount: expectedBytes, expectedSHA256: expectedSHA256))
        do {
            for try await chunk in request.body { try upload.session.write(chunk) }
            guard upload.session.byteCount > 0 else { throw RequestError(field: "$", "the upload is empty; send the safetensors file as the body") }
            let temporary = context.registry.modelRoot.absolutePath(upload.session.temporaryPath)
            try await WeightsCheck.verifyLoadable(architecture: architecture, configuration: configuration, path: temporary)
            return try await BlockingWork.run { try upload.session.commit(registration) }
        } catch {
            upload.session.abort()
            throw error
        }
    }

    /// Name, architecture and configuration checked before any byte is stored.
    private static func validate(_ registration: ModelRegistration) throws {
        try ModelName.validate(registration.name)
        try ArchitectureRegistry.validate(named: registration.architecture, configuration: Data(registration.configuration.utf8))
    }

    private static func description(_ text: String?) throws(RequestError) -> String? {
        if let text, text.count > 4096 { throw RequestError(field: "description", "is longer than 4096 characters") }
        return text
    }

    private static func labels(_ object: FieldReader?) throws(RequestError) -> [String: String]? {
        guard let object else { return nil }
        var labels: [String: String] = [:]
        for (key, value) in object.object.members {
            guard case .string(let text) = value else {
                throw RequestError(field: object.field(key), "expected a string, found \(value.kindDescription)")
            }
            labels[key] = text
        }
        return labels
    }

    // MARK: - Layers

    /// `LayerList`: the default-input catalog of a loaded version.
    static func layerList(_ model: ServedModel) -> [UInt8] {
        let buffer = JSONOutputBuffer(capacity: 16 * 1024)
        buffer.append(raw: #"{"model":{"name":"#)
        buffer.append(string: model.name)
        buffer.append(raw: #","version":"#)
        buffer.append(integer: model.version)
        buffer.append(raw: #"},"layers":["#)
        for (index, layer) in model.defaultCatalog.layers.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(raw: #"{"name":"#)
            buffer.append(string: layer.name)
            buffer.append(raw: #","type":"#)
            buffer.append(string: layer.moduleType)
            buffer.append(raw: #","output_shape":"#)
            buffer.append(integers: layer.outputShape ?? [])
            buffer.append(raw: #","calls":"#)
            buffer.append(integer: layer.callCount ?? 1)
            buffer.append(raw: #","parameters":"#)
            buffer.append(integer: layer.parameterCount)
            buffer.append(UInt8(ascii: "}"))
        }
        buffer.append(raw: "]}")
        return buffer.takeBytes()
    }
}

/// An upload session handed to blocking-work threads: used by one of them at a time, in sequence.
private final class SendableUpload: @unchecked Sendable {
    let session: UploadSession
    init(_ session: UploadSession) { self.session = session }
}
