/// Turns a handler's `HTTPResponse` into what goes on the wire: the status line, the handler's
/// fields (less the framing ones, which are the server's to set), `Date`, `Server` and
/// `X-Request-Id` when absent, the body framing (`Content-Length` or chunked) and `Connection`.
///
/// It decides, for one response: whether the connection can stay open after it, how a streamed
/// body is framed, and whether a producer runs at all (not for HEAD, nor for a status that forbids
/// a body). Pure: the `Date` line comes from the caller.
struct HTTPResponseHeadSerializer {
    /// `Server: <name>\r\n`.
    let serverHeaderLine: [UInt8]

    /// What the serializer decided for one response.
    struct Output {
        /// The head, followed by the body when that is complete and small.
        var head: [UInt8]
        /// A large complete body, queued as its own array (empty when it is in `head`, or none).
        var body: [UInt8]
        /// The streamed body's producer, when one is to run.
        var producer: (@Sendable (any HTTPBodyWriter) async throws -> Void)?
        /// How the producer's writes are framed.
        var framing: HTTPResponseBodyFraming
        /// Whether the connection stays open after this response.
        var keepAlive: Bool
    }

    /// Bodies up to this size share the head's array (one iovec, one copy of a small body).
    static let inlineBodyLimit = 16 * 1024

    /// Serializes `response` to a request with `method` and `version` (nil and HTTP/1.1 for a
    /// response the server makes before a head was read). `keepAlive` is the connection's state
    /// so far; the response may end it (`Connection: close`, or an HTTP/1.0 body without a length).
    func serialize(_ response: HTTPResponse, method: HTTPMethod?, version: HTTPVersion, keepAlive: Bool,
                   requestId: String?, dateLine: () -> [UInt8]) -> Output {
        let isHead = method == .head
        var keepAlive = keepAlive
        if let connection = response.headers["connection"], connection.lowercased().contains("close") { keepAlive = false }

        var framingLine: [UInt8]? = nil
        var body: [UInt8] = []
        var producer: (@Sendable (any HTTPBodyWriter) async throws -> Void)? = nil
        var framing = HTTPResponseBodyFraming.chunked
        switch response.body {
        case .empty:
            if !response.status.forbidsBody { framingLine = Self.contentLengthLine(0) }
        case .bytes(let bytes):
            if !response.status.forbidsBody {
                framingLine = Self.contentLengthLine(bytes.count)
                if !isHead { body = bytes }
            }
        case .stream(let streamProducer):
            if response.status.forbidsBody { break }
            if let length = response.headers["content-length"].flatMap(Int.init), length >= 0 {
                framingLine = Self.contentLengthLine(length)
                framing = .identity(remaining: length)
            } else if version == .http1_1 {
                framingLine = Array("Transfer-Encoding: chunked\r\n".utf8)
            } else {
                // An HTTP/1.0 client knows no chunking: the body ends when the connection does.
                framing = .closeDelimited
                keepAlive = false
            }
            if !isHead { producer = streamProducer }
        }

        let inline = body.count <= Self.inlineBodyLimit
        var bytes: [UInt8] = []
        bytes.reserveCapacity(320 + (inline ? body.count : 0))
        bytes += response.status.statusLine
        var hasDate = false, hasServer = false, hasRequestId = false
        for field in response.headers {
            let name = field.name
            switch asciiLower(name.utf8.first ?? 0) {
            case UInt8(ascii: "c"):
                if HTTPHeaders.namesEqual(name, "content-length") || HTTPHeaders.namesEqual(name, "connection") { continue }
            case UInt8(ascii: "t"):
                if HTTPHeaders.namesEqual(name, "transfer-encoding") { continue }
            case UInt8(ascii: "d"):
                if HTTPHeaders.namesEqual(name, "date") { hasDate = true }
            case UInt8(ascii: "s"):
                if HTTPHeaders.namesEqual(name, "server") { hasServer = true }
            case UInt8(ascii: "x"):
                if HTTPHeaders.namesEqual(name, "x-request-id") { hasRequestId = true }
            default:
                break
            }
            Self.appendField(name: field.name, value: field.value, to: &bytes)
        }
        if !hasDate { bytes += dateLine() }
        if !hasServer { bytes += serverHeaderLine }
        if !hasRequestId, let requestId { Self.appendField(name: "X-Request-Id", value: requestId, to: &bytes) }
        if let framingLine { bytes += framingLine }
        if !keepAlive {
            bytes += "Connection: close\r\n".utf8
        } else if version == .http1_0 {
            bytes += "Connection: keep-alive\r\n".utf8
        }
        bytes += "\r\n".utf8
        if inline {
            bytes += body
            body = []
        }
        return Output(head: bytes, body: body, producer: producer, framing: framing, keepAlive: keepAlive)
    }

    /// Appends `name: value\r\n`, copying the strings' UTF-8 storage directly. A field whose name
    /// is not a token or whose value holds CR or LF is dropped: handler values must not be able to
    /// smuggle in new header lines.
    static func appendField(name: String, value: String, to bytes: inout [UInt8]) {
        var name = name, value = value
        name.withUTF8 { name in
            value.withUTF8 { value in
                guard !name.isEmpty, name.allSatisfy(HTTPRequestParser.isTokenCharacter),
                      !value.contains(where: { $0 == 13 || $0 == 10 }) else { return }
                bytes.append(contentsOf: name)
                bytes.append(UInt8(ascii: ":"))
                bytes.append(UInt8(ascii: " "))
                bytes.append(contentsOf: value)
                bytes.append(13)
                bytes.append(10)
            }
        }
    }

    /// `Content-Length: <n>\r\n`.
    static func contentLengthLine(_ length: Int) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(40)
        line += "Content-Length: ".utf8
        appendDecimal(length, to: &line)
        line += "\r\n".utf8
        return line
    }
}
