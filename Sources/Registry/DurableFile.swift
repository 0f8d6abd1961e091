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
        let temporary = partialPath(for: path)
        let descriptor = try FileOperations.open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try data.withUnsafeBytes { try FileOperations.writeAll(descriptor, $0, path: temporary) }
            try FileOperations.sync(descriptor, path: temporary)
        } catch {
            close(descriptor)
            try? FileOperations.removeFile(temporary)
            throw error
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else { throw RegistryError.io(operation: "rename", path: path, errno: errno) }
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
