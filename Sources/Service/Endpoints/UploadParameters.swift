import Foundation
import HTTP
import Registry

/// The query of `POST /v1/models`: an upload's metadata (`name`, `architecture`, `config`,
/// `description`, `labels`, `preload`, `precision`, `sha256`). Every parameter present is checked against
/// openapi.yaml whatever the body, so a bad value is always a 400.
struct UploadParameters {
    var name: String?
    var architecture: String?
    /// A JSON object as text.
    var configuration: String?
    var description: String?
    var labels: [String: String]?
    var preload: Bool?
    var precision: ModelPrecision?
    var sha256: String?

    init(_ request: HTTPRequest) throws(ServiceError) {
        let head = request.head
        if let name = head.queryValue(named: "name") {
            guard ModelName.isValid(name) else { throw .invalidParameter(name: "name", problem: RegistryError.invalidName(name).description) }
            self.name = name
        }
        if let architecture = head.queryValue(named: "architecture") {
            let bytes = Array(architecture.utf8)
            func isLower(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7A }
            guard let first = bytes.first, isLower(first), bytes.count <= 64,
                  bytes.allSatisfy({ isLower($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }) else {
                throw .invalidParameter(name: "architecture", problem: "'\(architecture)' is not an architecture name ([a-z][a-z0-9_]{0,63})")
            }
            self.architecture = architecture
        }
        if let text = head.queryValue(named: "config") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)), object is [String: Any] else {
                throw .invalidParameter(name: "config", problem: "must be a JSON object")
            }
            configuration = text
        }
        if let text = head.queryValue(named: "description") {
            guard text.count <= 4096 else { throw .invalidParameter(name: "description", problem: "is longer than 4096 characters") }
            description = text
        }
        if let text = head.queryValue(named: "labels") {
            var labels: [String: String] = [:]
            for pair in text.split(separator: ",", omittingEmptySubsequences: false) {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let keyBytes = parts.first.map { Array($0.utf8) } ?? []
                func isKeyByte(_ byte: UInt8) -> Bool {
                    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || ".-_/".utf8.contains(byte)
                }
                guard parts.count == 2, !keyBytes.isEmpty, keyBytes.allSatisfy(isKeyByte) else {
                    throw .invalidParameter(name: "labels", problem: "expected key=value pairs separated by commas (keys: letters, digits, . _ / -)")
                }
                labels[String(parts[0])] = String(parts[1])
            }
            self.labels = labels
        }
        preload = try RequestParameters.queryBool(request, "preload")
        if let text = head.queryValue(named: "precision") {
            guard let precision = ModelPrecision(rawValue: text) else {
                throw .invalidParameter(name: "precision", problem: RegistryError.invalidPrecision(text, field: "precision").description)
            }
            self.precision = precision
        }
        if let text = head.queryValue(named: "sha256") {
            guard text.utf8.count == 64, text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
                throw .invalidParameter(name: "sha256", problem: "expected 64 lowercase hexadecimal digits")
            }
            sha256 = text
        }
    }
}
