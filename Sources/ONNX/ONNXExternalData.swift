import Foundation

/// Resolution of `external_data` locations: a relative path that stays inside the model's
/// directory after resolving `..` and symbolic links. Anything else (absolute paths, escapes,
/// links pointing out) is an error, so a model cannot make the server read arbitrary files.
enum ONNXExternalData {
    static func confinedURL(_ location: String, in directory: URL, tensor: String) throws -> URL {
        guard !location.hasPrefix("/"), !location.contains("\0") else {
            throw ONNXError.externalData(tensor: tensor, reason: "location '\(location)' must be a relative path inside the model's directory")
        }
        let root = directory.standardizedFileURL.resolvingSymlinksInPath().path
        let candidate = directory.appendingPathComponent(location).standardizedFileURL.resolvingSymlinksInPath().path
        guard candidate.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
            throw ONNXError.externalData(tensor: tensor, reason: "location '\(location)' escapes the model's directory")
        }
        return URL(fileURLWithPath: candidate)
    }

    /// The distinct external data files a model references, in first-use order (for checksums).
    static func locations(in model: ONNXModelProto) -> [String] {
        var seen = Set<String>(), result: [String] = []
        for location in model.graph.externalLocations where seen.insert(location).inserted { result.append(location) }
        return result
    }
}
