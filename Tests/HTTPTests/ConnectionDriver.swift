import Logging

@testable import HTTP

/// The server a state machine under test belongs to: short abstract timeouts (nanoseconds of a
/// clock the test moves by hand), a fixed `Date`, and a drain flag and body policies the test sets.
final class TestConnectionEnvironment: HTTPConnectionEnvironment {
    var configuration = HTTPServerConfiguration(handlerThreads: 1)
    let logger = Logger.disabled
    let serverHeaderLine = Array("Server: T\r\n".utf8)
    var headerReadTimeout: UInt64 = 1_000
    var idleTimeout: UInt64 = 5_000
    var bodyReadTimeout: UInt64 = 2_000
    var writeTimeout: UInt64 = 3_000
    var lingerTimeout: UInt64 = 500
    var isDraining = false
    /// Body policies by path; buffered elsewhere.
    var policies: [String: HTTPBodyPolicy] = [:]

    func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { policies[head.path] ?? .buffered() }
    func dateLine() -> [UInt8] { Array("Date: D\r\n".utf8) }
}

/// A response as it went out on the fake socket.
struct WireResponse {
    var status: Int
    /// Field names lowercased.
    var headers: [String: String]
    var body: String

    var closesConnection: Bool { headers["connection"] == "close" }
}

/// Drives an `HTTPConnectionStateMachine` the way `HTTPConnection` does, against a fake socket and
/// a fake clock: bytes the client sent wait "in the kernel" and are read whenever the machine wants
/// to read; writes go to `sent`, as far as `socketRoom` allows. Every event returns the actions it
/// led to, described (`"handle GET /a"`, `"write"`, `"close, tell handler"`, …).
final class ConnectionDriver {
    let environment: TestConnectionEnvironment
    var machine: HTTPConnectionStateMachine<TestConnectionEnvironment>
    /// The fake clock.
    var now: UInt64 = 0
    /// Bytes the socket still takes before it is full (nil: any number).
    var socketRoom: Int?
    /// Whether the request body stream asks to pause after each chunk (its consumer is behind).
    var streamConsumerBehind = false
    /// Bytes sent by the client and not read yet.
    private(set) var unread: [UInt8] = []
    /// Everything written to the socket.
    private(set) var sent: [UInt8] = []
    /// The handlers started: head, context, and the buffered body (nil: streaming).
    private(set) var handled: [(head: HTTPRequestHead, context: RequestContext, body: [UInt8]?)] = []
    /// What the request body stream received.
    private(set) var streamed: [UInt8] = []

    init(configure: (TestConnectionEnvironment) -> Void = { _ in }) {
        let environment = TestConnectionEnvironment()
        configure(environment)
        self.environment = environment
        machine = HTTPConnectionStateMachine(environment: environment, peer: nil, now: 0)
    }

    // MARK: - Events

    /// The client sends `text`; it is read as far as the machine wants.
    @discardableResult
    func receive(_ text: String) -> [String] { receive(Array(text.utf8)) }

    @discardableResult
    func receive(_ bytes: [UInt8]) -> [String] {
        unread += bytes
        return readWhileWanted()
    }

    @discardableResult
    func respond(_ response: HTTPResponse) -> [String] { handle { $0.responseReady(response) } }

    /// The streamed response body's producer writes `text`.
    @discardableResult
    func produce(_ text: String) -> [String] { handle { $0.responseBodyChunk(Array(text.utf8)) } }

    @discardableResult
    func producerEnds(throwing failure: (any Error)? = nil) -> [String] {
        handle { [now] in $0.responseBodyFinished(failure: failure, now: now) }
    }

    /// The socket's send buffer empties (`room` more bytes, or any number) and epoll says so.
    @discardableResult
    func socketDrains(room: Int? = nil) -> [String] {
        socketRoom = room
        return handle { $0.writable() }
    }

    /// The handler reads the streamed body (or catches up with it).
    @discardableResult
    func consumerDemands() -> [String] {
        streamConsumerBehind = false
        return handle { [now] in $0.bodyDemanded(now: now) }
    }

    @discardableResult
    func tick(at time: UInt64) -> [String] {
        now = time
        return handle { $0.tick(now: time) }
    }

    @discardableResult
    func clientHalfCloses() -> [String] { handle { $0.inputClosed() } }

    @discardableResult
    func socketFails() -> [String] { handle { $0.connectionFailed() } }

    @discardableResult
    func beginDrain() -> [String] {
        environment.isDraining = true
        return handle { $0.beginDrain() }
    }

    @discardableResult
    func close() -> [String] { handle { $0.close() } }

    /// Runs `event` on the machine and performs the actions it leads to.
    private func handle(_ event: (inout HTTPConnectionStateMachine<TestConnectionEnvironment>) -> Void) -> [String] {
        event(&machine)
        return perform()
    }

    // MARK: - The fake connection

    private func readWhileWanted() -> [String] {
        var transcript: [String] = []
        while !unread.isEmpty && machine.wantsRead, let space = machine.readBuffer() {
            let count = min(space.count, unread.count)
            unread.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: space[0..<count]).copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            unread.removeFirst(count)
            machine.bytesRead(count, now: now)
            transcript += performActions()
        }
        return transcript
    }

    private func perform() -> [String] {
        performActions() + readWhileWanted()
    }

    private func performActions() -> [String] {
        var transcript: [String] = []
        while let action = machine.nextAction() {
            switch action {
            case .write:
                let count = min(machine.output.count, socketRoom ?? .max)
                if count == 0 {
                    transcript.append("write blocked")
                    machine.writeWouldBlock(now: now)
                } else {
                    transcript.append("write")
                    sent += machine.output.unsentBytes.prefix(count)
                    socketRoom = socketRoom.map { $0 - count }
                    machine.bytesWritten(count, now: now)
                }
            case .startHandler(let head, let body):
                let context = machine.currentContext!
                switch body {
                case .buffered(let bytes):
                    handled.append((head, context, bytes))
                    transcript.append("handle \(head.method) \(head.target)" + (bytes.isEmpty ? "" : " [\(bytes.count) bytes]"))
                case .streaming:
                    handled.append((head, context, nil))
                    transcript.append("handle \(head.method) \(head.target) [stream]")
                }
            case .deliverBody(let bytes):
                streamed += bytes
                transcript.append("body \(String(decoding: bytes, as: UTF8.self))")
                if streamConsumerBehind { machine.bodyConsumerPaused() }
            case .finishBody:
                transcript.append("body end")
            case .failBody(let error):
                transcript.append("body error \(Self.status(of: error))")
            case .startProducer:
                transcript.append("produce")
            case .abandonProducer:
                transcript.append("abandon")
            case .resumeWriter:
                transcript.append("resume writer")
            case .failWriter(let error):
                transcript.append("fail writer \(Self.status(of: error))")
            case .requestCompleted:
                transcript.append("completed")
            case .shutdownWrite:
                transcript.append("shutdown")
            case .close(let disconnection):
                disconnection?.signal()
                transcript.append(disconnection == nil ? "close" : "close, tell handler")
            case .log(let diagnostic):
                switch diagnostic {
                case .serverResponse(_, _, let status, _, _, _): transcript.append("log \(status.code)")
                case .streamedBodyTooLong: transcript.append("log body too long")
                case .streamedBodyTooShort: transcript.append("log body too short")
                case .streamedResponseFailed: transcript.append("log stream failed")
                case .writeTimeout: transcript.append("log write timeout")
                }
            }
        }
        return transcript
    }

    private static func status(of error: any Error) -> Int {
        if let error = error as? HTTPParseError { return error.status.code }
        return (error as? any HTTPResponseError)?.status.code ?? 0
    }

    // MARK: - The machine's state

    var wantsRead: Bool { machine.wantsRead }
    var hasPendingOutput: Bool { machine.hasPendingOutput }
    var isAwaitingResponse: Bool { machine.isAwaitingResponse }
    var isClosed: Bool { machine.isClosed }
    /// Unsent output bytes.
    var unsentCount: Int { machine.output.count }

    // MARK: - What went out

    var sentText: String { String(decoding: sent, as: UTF8.self) }

    /// `sent` split into responses (`Content-Length`, chunked, or the rest for a close-delimited body).
    var responses: [WireResponse] {
        // Bytes, not Characters: "\r\n" is one Character.
        func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
        func find(_ pattern: String, in bytes: ArraySlice<UInt8>) -> Int? {
            let pattern = Array(pattern.utf8)
            guard bytes.count >= pattern.count else { return nil }
            return (bytes.startIndex...(bytes.endIndex - pattern.count)).first { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) }
        }
        var responses: [WireResponse] = []
        var rest = sent[...]
        while let headEnd = find("\r\n\r\n", in: rest) {
            var lines = text(rest[..<headEnd]).components(separatedBy: "\r\n")
            let status = Int(lines.removeFirst().split(separator: " ")[1]) ?? 0
            var headers: [String: String] = [:]
            for line in lines {
                let colon = line.firstIndex(of: ":")!
                headers[line[..<colon].lowercased()] = String(line[line.index(colon, offsetBy: 2)...])
            }
            rest = rest[(headEnd + 4)...]
            var body: [UInt8] = []
            if status < 200 {
                // Interim: no body.
            } else if let length = headers["content-length"].flatMap(Int.init) {
                body = Array(rest.prefix(length))
                rest = rest.dropFirst(length)
            } else if headers["transfer-encoding"] == "chunked" {
                while let lineEnd = find("\r\n", in: rest), let size = Int(text(rest[..<lineEnd]), radix: 16) {
                    rest = rest[(lineEnd + 2)...]
                    body += rest.prefix(size)
                    rest = rest.dropFirst(size + 2)
                    if size == 0 { break }
                }
            } else if headers["connection"] == "close" {
                body = Array(rest)
                rest = rest.dropFirst(rest.count)
            }
            responses.append(WireResponse(status: status, headers: headers, body: text(body[...])))
        }
        return responses
    }
}

/// `GET <target>` over HTTP/1.1 with `extra` header lines (each ending in CRLF).
func get(_ target: String, _ extra: String = "") -> String {
    "GET \(target) HTTP/1.1\r\nHost: t\r\n\(extra)\r\n"
}

/// `POST <target>` with a `Content-Length` body.
func post(_ target: String, _ body: String, _ extra: String = "") -> String {
    "POST \(target) HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\n\(extra)\r\n\(body)"
}
