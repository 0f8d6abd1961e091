#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import HTTP

/// The directory extraction jobs read datasets from and write shards to (`jobs.data_root`), and
/// the checks that keep a job's paths inside it.
///
/// A path is relative to the root, or absolute inside it; it may not have a `..` component, and
/// its `realpath` — every symlink followed — must lie strictly inside the root's own `realpath`.
/// A directory that does not exist yet (an output directory) is judged by its deepest existing
/// ancestor, the rest being new plain names. Paths are checked when a job is submitted and again
/// when it starts, since the file system may change in between. Errors name the request field.
struct DataRoot: Sendable {
    /// The root, absolute and with symlinks resolved.
    let path: String

    /// Uses `path` (created with its parents when missing) as the root; a root that cannot be
    /// created or resolved is the server's problem, not the request's: 503 naming the setting.
    init(path: String) throws(HTTPError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw HTTPError(.serviceUnavailable, "jobs.data_root \(path) cannot be created: \(error.localizedDescription)")
        }
        guard let resolved = realpath(path, nil) else {
            throw HTTPError(.serviceUnavailable, "jobs.data_root \(path) cannot be resolved: \(String(cString: strerror(errno)))")
        }
        defer { free(resolved) }
        self.path = String(cString: resolved)
    }

    /// `userPath` (field `field`) as an absolute path inside the root, symlinks resolved, which
    /// exists when `mustExist`.
    func resolve(_ userPath: String, field: String, mustExist: Bool) throws(RequestError) -> String {
        guard !userPath.isEmpty else { throw RequestError(field: field, "must not be empty") }
        guard !userPath.utf8.contains(0) else { throw RequestError(field: field, "must not contain a NUL byte") }
        let components = userPath.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.contains("..") else {
            throw RequestError(field: field, "'\(userPath)' must not contain '..': give a path inside the data root \(path)")
        }
        let lexical = userPath.hasPrefix("/") ? userPath : path + "/" + userPath
        var existing = lexical
        var missing: [String] = []
        while true {
            if let resolved = Self.resolvedPath(existing) {
                guard resolved != path || !missing.isEmpty else { throw RequestError(field: field, "'\(userPath)' is the data root itself: give a path inside it") }
                guard resolved == path || resolved.hasPrefix(path + "/") else {
                    let lexicalPrefix = URL(fileURLWithPath: existing).standardizedFileURL.path
                    if lexicalPrefix == resolved || !lexicalPrefix.hasPrefix(path + "/") {
                        throw RequestError(field: field, "'\(userPath)' is outside the data root \(path)")
                    }
                    throw RequestError(field: field, "'\(userPath)' leads through a symlink to \(resolved), outside the data root \(path)")
                }
                return ([resolved] + missing.reversed()).joined(separator: "/")
            }
            guard errno == ENOENT || errno == ENOTDIR, !mustExist, missing.count < components.count else { break }
            let url = URL(fileURLWithPath: existing)
            missing.append(url.lastPathComponent)
            existing = url.deletingLastPathComponent().path
        }
        throw RequestError(field: field, "'\(userPath)' does not exist under the data root \(path)")
    }

    /// Whether `absolutePath` (symlinks resolved) is inside the root.
    func contains(resolving absolutePath: String) -> Bool {
        Self.resolvedPath(absolutePath)?.hasPrefix(path + "/") ?? false
    }

    private static func resolvedPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
