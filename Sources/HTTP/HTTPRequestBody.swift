/// A request body: either all its bytes (buffered routes, the default) or an `AsyncSequence` of
/// chunks read from the socket as the handler consumes them (streaming routes), with backpressure:
/// the connection stops reading while more than a high-water mark of chunks is waiting.
///
/// A streaming body can be iterated once. Iterating a buffered body yields its bytes as one chunk.
public struct HTTPRequestBody: Sendable, AsyncSequence {
    public typealias Element = [UInt8]

    private enum Storage: Sendable {
        case buffered([UInt8])
        case stream(HTTPBodyStream)
    }

    private let storage: Storage

    /// No body.
    public static let empty = HTTPRequestBody(bytes: [])

    /// A buffered body.
    public init(bytes: [UInt8]) { storage = .buffered(bytes) }

    init(stream: HTTPBodyStream) { storage = .stream(stream) }

    /// A streaming body fed by code, for testing streaming routes without sockets: the body and the
    /// writer that feeds it (`write`, then `finish` or `fail`).
    public static func makeStream(highWaterMark: Int = 1 << 20) -> (body: HTTPRequestBody, writer: HTTPRequestBodyWriter) {
        let stream = HTTPBodyStream(highWaterMark: highWaterMark, onDemand: nil)
        return (HTTPRequestBody(stream: stream), HTTPRequestBodyWriter(stream: stream))
    }

    /// The bytes of a buffered body; nil for a streaming one.
    public var bytes: [UInt8]? {
        if case .buffered(let bytes) = storage { return bytes }
        return nil
    }

    /// Whether this body is read from the socket as it is consumed.
    public var isStreaming: Bool {
        if case .stream = storage { return true }
        return false
    }

    /// All bytes of the body; throws `HTTPError` 413 past `limit` bytes.
    public func collect(upTo limit: Int = .max) async throws -> [UInt8] {
        switch storage {
        case .buffered(let bytes):
            guard bytes.count <= limit else { throw HTTPError.contentTooLarge(limit: limit) }
            return bytes
        case .stream:
            var result: [UInt8] = []
            for try await chunk in self {
                guard result.count + chunk.count <= limit else { throw HTTPError.contentTooLarge(limit: limit) }
                result += chunk
            }
            return result
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var buffered: [UInt8]?
        fileprivate let stream: HTTPBodyStream?

        public mutating func next() async throws -> [UInt8]? {
            if let stream { return try await stream.next() }
            defer { buffered = nil }
            return buffered.flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch storage {
        case .buffered(let bytes): AsyncIterator(buffered: bytes, stream: nil)
        case .stream(let stream): AsyncIterator(buffered: nil, stream: stream)
        }
    }
}
