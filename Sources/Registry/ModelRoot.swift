#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The directory every weights file must live in, and the checks that keep paths inside it.
///
/// A path is accepted only when it has no `..` component and its `realpath` — every symlink
/// followed — lies strictly inside the root's own `realpath`. Paths are checked when a version is
/// registered and again every time it is loaded, since the file system may change in between.
public struct ModelRoot: Sendable, Equatable {
    /// The root, absolute and with symlinks resolved.
    public let path: String

    /// The folder under the root where uploads are streamed before they are committed.
    public static let uploadsDirectoryName = ".uploads"

    /// Uses `path` (created with its parents when missing) as the model root.
    public init(path: String) throws(RegistryError) {
        guard !path.isEmpty else { throw .invalidPath(path: path, reason: "the model root is empty") }
        try FileOperations.makeDirectories(path)
        guard let resolved = realpath(path, nil) else { throw .io(operation: "realpath", path: path, errno: errno) }
        defer { free(resolved) }
        self.path = String(cString: resolved)
    }

    /// The upload staging folder, `<root>/.uploads`.
    public var uploadsPath: String { path + "/" + Self.uploadsDirectoryName }

    /// The absolute form of a path relative to the root (no checks).
    public func absolutePath(_ relativePath: String) -> String { path + "/" + relativePath }

    /// Resolves a weights path given by a user — absolute, or relative to the root — to an existing
    /// regular file inside the root; returns it relative to the root (symlinks resolved) and absolute.
    public func resolve(_ userPath: String) throws(RegistryError) -> (relativePath: String, absolutePath: String) {
        guard !userPath.isEmpty else { throw .invalidPath(path: userPath, reason: "the path is empty") }
        guard !userPath.utf8.contains(0) else { throw .invalidPath(path: userPath, reason: "the path contains a NUL byte") }
        if userPath.split(separator: "/", omittingEmptySubsequences: true).contains("..") {
            throw .pathOutsideModelRoot(path: userPath, modelRoot: path)
        }
        let candidate = userPath.hasPrefix("/") ? userPath : absolutePath(userPath)
        guard let resolvedPointer = realpath(candidate, nil) else {
            if errno == ENOENT || errno == ENOTDIR { throw .weightsNotFound(path: userPath) }
            throw .io(operation: "realpath", path: candidate, errno: errno)
        }
        let resolved = String(cString: resolvedPointer)
        free(resolvedPointer)
        guard resolved.hasPrefix(path + "/") else { throw .pathOutsideModelRoot(path: userPath, modelRoot: path) }
        let relative = String(resolved.dropFirst(path.count + 1))
        if relative == Self.uploadsDirectoryName || relative.hasPrefix(Self.uploadsDirectoryName + "/") {
            throw .invalidPath(path: userPath, reason: "files in \(Self.uploadsDirectoryName) are unfinished uploads")
        }
        guard let info = try FileOperations.status(resolved) else { throw .weightsNotFound(path: userPath) }
        guard FileOperations.isRegularFile(info) else { throw .notARegularFile(path: userPath) }
        return (relative, resolved)
    }

    /// Resolves a stored (relative) weights path, refusing absolute paths and anything that now
    /// escapes the root (a symlink swapped in after registration, say).
    public func resolveStored(_ relativePath: String) throws(RegistryError) -> String {
        guard !relativePath.hasPrefix("/") else { throw .pathOutsideModelRoot(path: relativePath, modelRoot: path) }
        return try resolve(relativePath).absolutePath
    }
}
