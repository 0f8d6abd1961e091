import Foundation
import Registry

/// The registry's records as openapi.yaml's `ModelVersion`, `Model` and `ModelList` JSON.
enum RegistryJSON {
    /// `ModelVersion`: name, version, architecture, weights_path, byte_size, sha256, status
    /// (+ status_reason when failed), precision, created_at, owns_weights_file, config.
    static func append(_ version: ModelVersion, to buffer: JSONOutputBuffer) {
        buffer.append(raw: #"{"name":"#)
        buffer.append(string: version.name)
        buffer.append(raw: #","version":"#)
        buffer.append(integer: version.version)
        buffer.append(raw: #","architecture":"#)
        buffer.append(string: version.architecture)
        buffer.append(raw: #","weights_path":"#)
        buffer.append(string: version.weightsPath)
        buffer.append(raw: #","byte_size":"#)
        buffer.append(integer: Int(version.byteCount))
        buffer.append(raw: #","sha256":"#)
        buffer.append(string: version.sha256)
        buffer.append(raw: #","status":"#)
        buffer.append(string: version.status.name)
        if let reason = version.status.reason {
            buffer.append(raw: #","status_reason":"#)
            buffer.append(string: reason)
        }
        buffer.append(raw: #","precision":"#)
        buffer.append(string: version.precision.rawValue)
        buffer.append(raw: #","created_at":"#)
        buffer.append(string: version.createdAt.formatted(.iso8601))
        buffer.append(raw: #","owns_weights_file":"#)
        buffer.append(raw: version.ownsWeightsFile ? "true" : "false")
        buffer.append(raw: #","config":"#)
        // Stored as the JSON object text the registry validated when it was registered.
        let configuration = version.configuration.trimmingCharacters(in: .whitespacesAndNewlines)
        buffer.append(Array((configuration.isEmpty ? "{}" : configuration).utf8))
        buffer.append(UInt8(ascii: "}"))
    }

    /// `Model`: name, description, labels, preload, default_version, pinned_version, versions.
    static func append(_ model: RegisteredModel, to buffer: JSONOutputBuffer) {
        buffer.append(raw: #"{"name":"#)
        buffer.append(string: model.name)
        buffer.append(raw: #","description":"#)
        buffer.append(string: model.description)
        buffer.append(raw: #","labels":{"#)
        for (index, key) in model.labels.keys.sorted().enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(string: key)
            buffer.append(UInt8(ascii: ":"))
            buffer.append(string: model.labels[key]!)
        }
        buffer.append(raw: #"},"preload":"#)
        buffer.append(raw: model.preload ? "true" : "false")
        buffer.append(raw: #","default_version":"#)
        appendOptional(model.defaultVersion?.version, to: buffer)
        buffer.append(raw: #","pinned_version":"#)
        appendOptional(model.pinnedVersion, to: buffer)
        buffer.append(raw: #","versions":["#)
        for (index, version) in model.versions.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            append(version, to: buffer)
        }
        buffer.append(raw: "]}")
    }

    private static func appendOptional(_ value: Int?, to buffer: JSONOutputBuffer) {
        if let value { buffer.append(integer: value) } else { buffer.append(raw: "null") }
    }

    static func body(_ version: ModelVersion) -> [UInt8] {
        let buffer = JSONOutputBuffer(capacity: 512)
        append(version, to: buffer)
        return buffer.takeBytes()
    }

    static func body(_ model: RegisteredModel) -> [UInt8] {
        let buffer = JSONOutputBuffer(capacity: 1024)
        append(model, to: buffer)
        return buffer.takeBytes()
    }

    /// `ModelList`: `{"models": [...]}` for native clients, and OpenAI's list for OpenAI clients
    /// (`models.list()`): `"object": "list"`, `"data": [{"id", "object": "model", "created", "owned_by"}]`,
    /// one entry per model name (`created`: its first version's registration time, Unix seconds).
    static func body(_ models: [RegisteredModel]) -> [UInt8] {
        let buffer = JSONOutputBuffer(capacity: 4096)
        buffer.append(raw: #"{"models":["#)
        for (index, model) in models.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            append(model, to: buffer)
        }
        buffer.append(raw: #"],"object":"list","data":["#)
        for (index, model) in models.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(raw: #"{"id":"#)
            buffer.append(string: model.name)
            buffer.append(raw: #","object":"model","created":"#)
            let created = model.versions.map(\.createdAt).min().map { Int($0.timeIntervalSince1970) } ?? 0
            buffer.append(integer: created)
            buffer.append(raw: #","owned_by":"periscope"}"#)
        }
        buffer.append(raw: "]}")
        return buffer.takeBytes()
    }
}
