/// How a streamed response body is delimited on the wire, and what each of the producer's writes
/// becomes in the output queue.
enum HTTPResponseBodyFraming: Sendable, Equatable {
    /// `Transfer-Encoding: chunked`: each write is one chunk; the body ends with a zero chunk.
    case chunked
    /// `Content-Length`: exactly `remaining` more bytes must be written.
    case identity(remaining: Int)
    /// HTTP/1.0 without a length: the body ends when the connection closes.
    case closeDelimited

    /// Queues `bytes` (not empty) framed. False, queueing nothing, when they overrun the declared
    /// `Content-Length`.
    mutating func encode(_ bytes: [UInt8], into output: inout HTTPOutputQueue) -> Bool {
        switch self {
        case .chunked:
            let size = Array((String(bytes.count, radix: 16) + "\r\n").utf8)
            if bytes.count <= 64 * 1024 {
                // One array: one iovec, and the chunk's bytes copied once.
                output.append(size + bytes + [13, 10])
            } else {
                output.append(size)
                output.append(bytes)
                output.append([13, 10])
            }
        case .identity(let remaining):
            guard bytes.count <= remaining else { return false }
            self = .identity(remaining: remaining - bytes.count)
            output.append(bytes)
        case .closeDelimited:
            output.append(bytes)
        }
        return true
    }

    /// Queues the end of the body (the zero chunk). False when fewer bytes than the declared
    /// `Content-Length` were written.
    func finish(into output: inout HTTPOutputQueue) -> Bool {
        switch self {
        case .chunked:
            output.append(Self.lastChunk)
            return true
        case .identity(let remaining):
            return remaining == 0
        case .closeDelimited:
            return true
        }
    }

    private static let lastChunk = Array("0\r\n\r\n".utf8)
}
