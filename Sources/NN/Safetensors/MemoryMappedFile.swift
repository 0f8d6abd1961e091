import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only, private memory mapping of a whole file, unmapped when the last reference goes.
/// Tensors that view it hold it through their storage's owner.
final class MemoryMappedFile: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let byteCount: Int

    /// Maps `path`; files shorter than `minimumByteCount` are reported as `fileTooSmall`.
    init(path: String, minimumByteCount: Int) throws(SafetensorsError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw .io(path: path, reason: "not a regular file") }
        let size = Int(status.st_size)
        guard size >= minimumByteCount else { throw .fileTooSmall(byteCount: size) }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED else {
            throw .io(path: path, reason: "mmap failed: " + String(cString: strerror(errno)))
        }
        base = mapping
        byteCount = size
    }

    deinit {
        munmap(base, byteCount)
    }
}
