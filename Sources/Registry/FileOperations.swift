#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Thin POSIX file helpers for the registry: every call retries on `EINTR` and failures become
/// `RegistryError.io` naming the operation and the path.
enum FileOperations {
    /// Runs `call` until it stops failing with `EINTR`.
    static func retrying<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result != -1 || errno != EINTR { return result }
        }
    }

    /// Opens `path` with `flags`, returning the descriptor.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(RegistryError) -> Int32 {
        let descriptor = retrying { Glibc.open(path, flags | O_CLOEXEC, mode) }
        guard descriptor >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        return descriptor
    }

    /// Writes all of `buffer` to `descriptor`.
    static func writeAll(_ descriptor: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws(RegistryError) {
        guard var base = buffer.baseAddress else { return }
        var remaining = buffer.count
        while remaining > 0 {
            let written = retrying { Glibc.write(descriptor, base, remaining) }
            guard written > 0 else { throw .io(operation: "write", path: path, errno: written == 0 ? EIO : errno) }
            base += written
            remaining -= written
        }
    }

    /// Flushes `descriptor`'s data and metadata to disk.
    static func sync(_ descriptor: Int32, path: String) throws(RegistryError) {
        guard retrying({ fsync(descriptor) }) == 0 else { throw .io(operation: "fsync", path: path, errno: errno) }
    }

    /// Flushes the directory `path`, making renames, links and unlinks in it durable.
    static func syncDirectory(_ path: String) throws(RegistryError) {
        let descriptor = try open(path, O_RDONLY | O_DIRECTORY)
        defer { Glibc.close(descriptor) }
        try sync(descriptor, path: path)
    }

    /// Creates `path` and its missing parents (mode 0755); an existing directory is fine.
    static func makeDirectories(_ path: String) throws(RegistryError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0, errno != EEXIST { throw .io(operation: "mkdir", path: path, errno: errno) }
    }

    /// `stat` of `path`, `nil` when it does not exist.
    static func status(_ path: String) throws(RegistryError) -> stat? {
        var info = stat()
        if stat(path, &info) == 0 { return info }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw .io(operation: "stat", path: path, errno: errno)
    }

    /// True when `info` describes a regular file.
    static func isRegularFile(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFREG }

    /// Removes `path`; a missing file is fine.
    static func removeFile(_ path: String) throws(RegistryError) {
        if unlink(path) != 0, errno != ENOENT { throw .io(operation: "unlink", path: path, errno: errno) }
    }

    /// Removes the directory `path` when it is empty; anything else is left alone.
    static func removeDirectoryIfEmpty(_ path: String) { _ = rmdir(path) }

    /// Takes an exclusive `flock` on `descriptor` without waiting; false when another open file holds it.
    static func tryLock(_ descriptor: Int32) -> Bool { retrying { flock(descriptor, LOCK_EX | LOCK_NB) } == 0 }

    /// Takes an exclusive `flock` on `descriptor`, waiting for it.
    static func lock(_ descriptor: Int32, path: String) throws(RegistryError) {
        guard retrying({ flock(descriptor, LOCK_EX) }) == 0 else { throw .io(operation: "flock", path: path, errno: errno) }
    }

    /// Reads `descriptor` to its end, returning the byte count and the SHA-256 in hex; with
    /// `copy`, writes every byte read to that descriptor (whose path errors name) too.
    static func hash(_ descriptor: Int32, path: String,
                     copyingTo copy: (descriptor: Int32, path: String)? = nil) throws(RegistryError) -> (byteCount: Int64, sha256: String) {
        var hasher = SHA256()
        var total: Int64 = 0
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let count = retrying { read(descriptor, buffer.baseAddress, chunk) }
            guard count >= 0 else { throw .io(operation: "read", path: path, errno: errno) }
            if count == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            if let copy { try writeAll(copy.descriptor, UnsafeRawBufferPointer(rebasing: buffer[0..<count]), path: copy.path) }
            total += Int64(count)
        }
        return (total, SHA256.hexString(hasher.finalize()))
    }
}
