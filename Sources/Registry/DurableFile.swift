#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Whole-file writes that survive a crash or a power loss at any instant: the bytes go to
/// `.<name>.partial` next to the target, are flushed, renamed over the target, and the directory
/// is flushed. A reader (or a process restarted after `kill -9`) sees the old file or the new
/// one, never a torn one; at worst a `.partial` file is left behind, which `isPartial` recognises.
///
/// `periscope extract` over a dataset writes its shards and manifest this way and resumes from
/// what these writes made durable.
public enum DurableFile {
    /// The suffix of the temporary file a write goes through.
    public static let partialSuffix = ".partial"

    /// The temporary path a write to `path` goes through: `.<name>.partial` in the same directory,
    /// so the rename never crosses a file system.
    public static func partialPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + partialSuffix).path
    }

    /// Whether `name` (a file name, no directory) is a write's leftover temporary file.
    public static func isPartial(_ name: String) -> Bool {
        name.hasPrefix(".") && name.hasSuffix(partialSuffix)
    }

    /// Replaces `path` with `data` durably. Errors are `RegistryError.io` naming the call and the path.
    public static func write(_ data: Data, to path: String) throws {
        try replace(path) { descriptor, temporary in
            try data.withUnsafeBytes { try FileOperations.writeAll(descriptor, $0, path: temporary) }
        }
    }

    /// Replaces `path` durably with a copy of the file at `source`, read once: the copy's byte
    /// count and SHA-256 come back, to be checked against what the source should hold.
    public static func copy(from source: String, to path: String) throws -> (byteCount: Int64, sha256: String) {
        let input = try FileOperations.open(source, O_RDONLY)
        defer { close(input) }
        return try replace(path) { descriptor, temporary in
            try FileOperations.hash(input, path: source, copyingTo: (descriptor, temporary))
        }
    }

    /// Makes `path` a hard link to the file at `source` (replacing what `path` was), durably: no
    /// byte is copied. False, with `path` absent, where the file system cannot link the two
    /// (another file system, or one without hard links); then `copy(from:to:)` is the way.
    /// A link appears whole, so it needs no partial file; `path` is removed first because
    /// renaming a link over another link to the same file would leave both names.
    public static func hardLink(from source: String, to path: String) throws -> Bool {
        try FileOperations.removeFile(path)
        guard link(source, path) == 0 else {
            if [EXDEV, EPERM, ENOTSUP, EMLINK].contains(errno) { return false }
            throw RegistryError.io(operation: "link", path: path, errno: errno)
        }
        try syncDirectory(containing: path)
        return true
    }

    /// Writes `path` through its partial file: `body` fills the open descriptor, which is then
    /// flushed and renamed over `path`. The partial file is removed when `body` fails.
    private static func replace<Result>(_ path: String, _ body: (Int32, String) throws -> Result) throws -> Result {
        let temporary = partialPath(for: path)
        let descriptor = try FileOperations.open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        let result: Result
        do {
            result = try body(descriptor, temporary)
            try FileOperations.sync(descriptor, path: temporary)
        } catch {
            close(descriptor)
            try? FileOperations.removeFile(temporary)
            throw error
        }
        close(descriptor)
        try commit(temporary, to: path)
        return result
    }

    /// Renames the complete file `temporary` over `path` and flushes the directory.
    private static func commit(_ temporary: String, to path: String) throws {
        guard rename(temporary, path) == 0 else { throw RegistryError.io(operation: "rename", path: path, errno: errno) }
        try syncDirectory(containing: path)
    }

    private static func syncDirectory(containing path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileOperations.syncDirectory(directory.isEmpty ? "." : directory)
    }

    /// The byte count and SHA-256 (64 lowercase hex digits) of the file at `path`, read in 1 MiB chunks.
    public static func digest(ofFileAt path: String) throws -> (byteCount: Int64, sha256: String) {
        let descriptor = try FileOperations.open(path, O_RDONLY)
        defer { close(descriptor) }
        return try FileOperations.hash(descriptor, path: path)
    }
}
