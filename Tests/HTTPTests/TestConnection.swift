#if canImport(Glibc)
import Glibc
#endif
@testable import HTTP

/// A response as read off the wire by `TestConnection`.
struct TestResponse {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }
    var closesConnection: Bool { headers["connection"]?.lowercased().contains("close") == true }
}

/// Why a test connection failed.
enum TestConnectionError: Error, CustomStringConvertible {
    case system(String, Int32)
    case timedOut
    case closed
    case malformed(String)

    var description: String {
        switch self {
        case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        case .timedOut: "timed out"
        case .closed: "connection closed by the server"
        case .malformed(let reason): "malformed response: \(reason)"
        }
    }
}

/// A blocking client socket for live tests: writes raw bytes and reads responses with a timeout,
/// so a test can send exactly what it wants (malformed, pipelined, trickled) and see exactly what
/// comes back.
final class TestConnection: @unchecked Sendable {  // used by one thread at a time
    let descriptor: Int32
    private var buffer: [UInt8] = []

    init(port: Int, host: String = "127.0.0.1", timeout: Duration = .seconds(10)) throws {
        let address = try SocketAddress(host: host, port: port)
        descriptor = socket(address.family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestConnectionError.system("socket", errno) }
        let result = try address.withSocketAddress { pointer, length in connect(descriptor, pointer, length) }
        guard result == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw TestConnectionError.system("connect", code)
        }
        setTimeout(timeout)
    }

    deinit { Glibc.close(descriptor) }

    /// Sets how long one `read` may block.
    func setTimeout(_ timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw TestConnectionError.system("write", errno)
            }
            offset += written
        }
    }

    /// Half-closes the sending side.
    func shutdownWrite() { shutdown(descriptor, Int32(SHUT_WR)) }

    /// Reads more bytes into the buffer; false at end of stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer += chunk[0..<count]
                return true
            }
            if count == 0 { return false }
            switch errno {
            case EINTR: continue
            case EAGAIN: throw TestConnectionError.timedOut
            case ECONNRESET: return false
            default: throw TestConnectionError.system("read", errno)
            }
        }
    }

    /// Reads one response (a `100 Continue` counts as one). `head` requests have no body.
    func readResponse(forHead head: Bool = false) throws -> TestResponse {
        var end: Int?
        while true {
            if let index = buffer.indices.dropLast(3).first(where: {
                buffer[$0] == 13 && buffer[$0 + 1] == 10 && buffer[$0 + 2] == 13 && buffer[$0 + 3] == 10
            }) {
                end = index
                break
            }
            guard try fill() else { throw TestConnectionError.closed }
        }
        let headText = String(decoding: buffer[0..<end!], as: UTF8.self)
        buffer.removeFirst(end! + 4)
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, statusLine[0] == "HTTP/1.1", let status = Int(statusLine[1]) else {
            throw TestConnectionError.malformed("status line '\(statusLine.joined(separator: " "))'")
        }
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw TestConnectionError.malformed("header '\(line)'") }
            headers.add(name: String(line[..<colon]), value: String(line[line.index(after: colon)...]).trimmingASCIIWhitespace().description)
        }
        var response = TestResponse(status: status, headers: headers, body: [])
        if head || (100..<200).contains(status) || status == 204 || status == 304 { return response }
        if let length = headers["content-length"].flatMap(Int.init) {
            while buffer.count < length { guard try fill() else { throw TestConnectionError.closed } }
            response.body = Array(buffer[0..<length])
            buffer.removeFirst(length)
        } else if headers["transfer-encoding"]?.lowercased() == "chunked" {
            response.body = try readChunkedBody()
        } else {
            while try fill() {}
            response.body = buffer
            buffer = []
        }
        return response
    }

    private func readLine() throws -> String {
        while true {
            if let index = buffer.indices.dropLast().first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 }) {
                let line = String(decoding: buffer[0..<index], as: UTF8.self)
                buffer.removeFirst(index + 2)
                return line
            }
            guard try fill() else { throw TestConnectionError.closed }
        }
    }

    private func readChunkedBody() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeLine = try readLine()
            guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                throw TestConnectionError.malformed("chunk size '\(sizeLine)'")
            }
            if size == 0 {
                while try !readLine().isEmpty {}
                return body
            }
            while buffer.count < size + 2 { guard try fill() else { throw TestConnectionError.closed } }
            body += buffer[0..<size]
            buffer.removeFirst(size + 2)
        }
    }

    /// Whether the server closes the connection (end of stream or reset) within the read timeout,
    /// discarding anything it sends first.
    func waitForClose() -> Bool {
        buffer = []
        while true {
            do {
                if try !fill() { return true }
                buffer = []
            } catch {
                return false
            }
        }
    }

    /// Reads until the server closes; the number of bytes received (nil on timeout).
    func countUntilClose() -> Int? {
        var total = buffer.count
        buffer = []
        while true {
            do {
                guard try fill() else { return total }
                total += buffer.count
                buffer = []
            } catch {
                return nil
            }
        }
    }

    /// Sends a request and reads its response.
    func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws -> TestResponse {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: test\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Length: \(body.count)\r\n" }
        try send(Array((text + "\r\n").utf8) + (body ?? []))
        return try readResponse(forHead: method == "HEAD")
    }
}
