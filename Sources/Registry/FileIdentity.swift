#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What says a file is still the one that was read: its device and inode (a file renamed over
/// it is another inode), its size (truncated or grown) and its modification time (rewritten in
/// place). A loaded model records the identity its weights were verified with, and the server
/// compares it with the file on disk after the load and while serving (`ModelManager`).
public struct FileIdentity: Sendable, Equatable, CustomStringConvertible {
    public let device: UInt64
    public let inode: UInt64
    public let byteCount: Int64
    /// Modification time, nanoseconds since the epoch.
    public let modified: Int64

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        byteCount = Int64(info.st_size)
        #if canImport(Darwin)
        modified = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
        #else
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        #endif
    }

    /// The identity of the file at `path` (symlinks not followed); nil when there is none.
    public static func of(path: String) -> FileIdentity? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return FileIdentity(info)
    }

    /// How `current` (nil: the file is gone) differs from this identity, in words; nil when it does not.
    public func change(to current: FileIdentity?) -> String? {
        guard let current else { return "deleted" }
        if current.device != device || current.inode != inode { return "replaced by another file" }
        if current.byteCount != byteCount { return "size changed from \(byteCount) to \(current.byteCount) bytes" }
        if current.modified != modified { return "rewritten in place (modification time changed)" }
        return nil
    }

    public var description: String { "device \(device), inode \(inode), \(byteCount) bytes, modified \(modified) ns" }
}
