#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The bytes a connection has yet to send: byte arrays in order, the first possibly partly sent.
///
/// No I/O: the connection writes what `withUnsafeVectors` lends it (one `write`/`writev`) and
/// reports how much went with `consume(_:)`. Arrays are queued as they are, never copied into one
/// buffer: a large body goes out from its own storage.
struct HTTPOutputQueue {
    /// Unsent arrays from `head` on; `offset` bytes of the first are sent.
    private var arrays: [[UInt8]] = []
    private var head = 0
    private var offset = 0
    /// Unsent bytes.
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// Queues `bytes` after everything queued before (empty arrays are not queued).
    mutating func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        count += bytes.count
        arrays.append(bytes)
    }

    /// The first `written` unsent bytes have been sent.
    mutating func consume(_ written: Int) {
        precondition(written >= 0 && written <= count, "consumed \(written) of \(count) queued bytes")
        count -= written
        var left = written
        while left > 0 {
            let available = arrays[head].count - offset
            if left >= available {
                left -= available
                arrays[head] = []
                head += 1
                offset = 0
            } else {
                offset += left
                left = 0
            }
        }
        if head == arrays.count {
            arrays.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64 {
            arrays.removeFirst(head)
            head = 0
        }
    }

    /// Drops everything unsent (the connection is closing).
    mutating func removeAll() {
        arrays.removeAll()
        head = 0
        offset = 0
        count = 0
    }

    /// Calls `body` with vectors over the first (up to `maxCount`) unsent arrays, each array's
    /// storage pinned while `body` runs; nothing is consumed. Empty when nothing is queued.
    func withUnsafeVectors<Result>(maxCount: Int = 16, _ body: (UnsafeBufferPointer<iovec>) -> Result) -> Result {
        let vectorCount = min(arrays.count - head, maxCount)
        return withUnsafeTemporaryAllocation(of: iovec.self, capacity: max(vectorCount, 1)) { vectors in
            gather(into: vectors, index: 0, count: vectorCount, body)
        }
    }

    /// Fills `vectors` one array at a time inside that array's `withUnsafeBytes` (nested, so every
    /// array stays pinned), then calls `body`.
    private func gather<Result>(into vectors: UnsafeMutableBufferPointer<iovec>, index: Int, count: Int,
                                _ body: (UnsafeBufferPointer<iovec>) -> Result) -> Result {
        if index == count {
            return body(UnsafeBufferPointer(rebasing: vectors[0..<count]))
        }
        return arrays[head + index].withUnsafeBytes { bytes in
            let skip = index == 0 ? offset : 0
            vectors[index] = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress! + skip), iov_len: bytes.count - skip)
            return gather(into: vectors, index: index + 1, count: count, body)
        }
    }

    /// Every unsent byte in order (for tests and diagnostics; copies).
    var unsentBytes: [UInt8] {
        guard head < arrays.count else { return [] }
        var bytes = Array(arrays[head][offset...])
        for array in arrays[(head + 1)...] { bytes += array }
        return bytes
    }
}
