#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `count` 64-byte-aligned values of a trivial type (a kernel's packed copy of a matrix), freed with
/// the object. Written once before it is published under a lock, read-only after: safe to share.
final class AlignedBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    let count: Int

    init(count: Int) {
        var pointer: UnsafeMutableRawPointer?
        // Not inside the precondition: -Ounchecked drops its condition, side effects included.
        let result = posix_memalign(&pointer, 64, count * MemoryLayout<Element>.stride)
        precondition(result == 0 && pointer != nil, "AlignedBuffer: cannot allocate \(count) values of \(Element.self)")
        base = pointer!.bindMemory(to: Element.self, capacity: count)
        self.count = count
    }

    /// Bytes held.
    var byteCount: Int { count * MemoryLayout<Element>.stride }

    deinit { free(base) }
}
