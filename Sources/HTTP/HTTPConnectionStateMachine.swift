/// The protocol logic of one HTTP/1.1 connection, without I/O: events in (bytes read, a response
/// ready, bytes written, a tick of the clock, …), actions out (`HTTPConnectionAction`: write, start
/// a handler, feed the body stream, close, …). `HTTPConnection` does the I/O and performs the
/// actions; the tests drive this machine directly, without sockets.
///
/// It owns the unparsed input (read into directly), the parser and the unsent output. Times are
/// monotonic nanoseconds passed in with the events that need them.
///
/// One request is in flight at a time: pipelined requests wait in the input until the previous
/// response has been written, so responses are always in request order.
///
/// After each event the connection takes the actions with `nextAction()` until it returns nil;
/// reports made while performing them (`bytesWritten`, `bodyConsumerPaused`) add to the same list.
struct HTTPConnectionStateMachine<Environment: HTTPConnectionEnvironment>: ~Copyable {
    private let environment: Environment
    private let peer: SocketAddress?
    private let serializer: HTTPResponseHeadSerializer

    // MARK: - Input

    private var input: HTTPInputBuffer
    private var parser: HTTPRequestParser

    /// Where the current request is in being read.
    private enum RequestPhase {
        /// Waiting for a head (between requests).
        case head
        /// Reading a body that is delivered whole when complete.
        case bufferedBody
        /// Feeding a body stream that the handler is reading.
        case streamingBody
        /// The request has been read completely (or its body failed); bytes after it wait.
        case complete
    }

    private var requestPhase = RequestPhase.head
    private var currentHead: HTTPRequestHead?
    /// The context of the request in flight, which its handler gets.
    private(set) var currentContext: RequestContext?
    private var bufferedBody: [UInt8] = []
    /// The body stream's consumer is behind: the socket is not read.
    private var bodyPaused = false
    /// `100 Continue` is owed once the handler starts reading the streamed body.
    private var continueOwed = false
    /// The request body ended in an error (limit, malformed chunk, timeout): never read again.
    private var requestFailed = false

    // MARK: - Output

    /// Response bytes not yet written.
    private(set) var output = HTTPOutputQueue()

    /// Where the response to the current request is.
    private enum ResponsePhase {
        /// No request in flight.
        case idle
        /// The handler is running.
        case handling
        /// The head is out and the producer task is writing the body.
        case streaming
        /// Everything is queued; done once flushed.
        case finishing
    }

    private var responsePhase = ResponsePhase.idle
    private var responseFraming = HTTPResponseBodyFraming.chunked
    private var keepAlive = true
    /// A `.write` is among the actions not yet taken.
    private var writeScheduled = false

    /// The streamed body's producer, as seen from its current `write`.
    private enum Writer {
        /// Not in a write.
        case none
        /// Its bytes are queued; whether it waits is decided when the socket has taken what it will.
        case deciding
        /// Suspended until the output drains.
        case waiting
    }

    private var writer = Writer.none

    // MARK: - Lifecycle and timers

    private enum Lifecycle {
        case open
        /// Half-closed after the last response; reads are dropped until the deadline.
        case lingering(until: UInt64)
        case closed
    }

    private enum ReadTimer {
        case none
        /// Waiting for the first byte of a head (or, on a new connection, of the first head).
        case idle(until: UInt64)
        /// A head has begun and must be complete by then.
        case head(until: UInt64)
        /// A body is being read and must make progress by then.
        case body(until: UInt64)
    }

    private var lifecycle = Lifecycle.open
    private var readTimer: ReadTimer
    private var writeDeadline: UInt64?
    private var isFirstRequest = true

    private var actions = HTTPConnectionActionQueue()

    /// A connection accepted at `now`: its first head must arrive within the header timeout.
    init(environment: Environment, peer: SocketAddress?, now: UInt64) {
        self.environment = environment
        self.peer = peer
        let limits = environment.configuration.limits
        // A full head at the limit plus read room.
        input = HTTPInputBuffer(capacityLimit: max(limits.maxHeadSize, limits.maxChunkLineSize) + 16 * 1024)
        parser = HTTPRequestParser(limits: limits)
        serializer = HTTPResponseHeadSerializer(serverHeaderLine: environment.serverHeaderLine)
        readTimer = .idle(until: now + environment.headerReadTimeout)
    }

    // MARK: - State the connection acts on

    var isClosed: Bool {
        if case .closed = lifecycle { return true }
        return false
    }

    /// Whether the socket should be read (epoll read interest).
    var wantsRead: Bool {
        switch lifecycle {
        case .closed: return false
        case .lingering: return true
        case .open: break
        }
        if requestFailed { return false }
        switch requestPhase {
        case .head, .complete:
            // With a request in flight, keep reading (to see a disconnect, and pipelined requests)
            // until a head's worth is buffered.
            return responsePhase == .idle || input.count < environment.configuration.limits.maxHeadSize
        case .bufferedBody:
            return true
        case .streamingBody:
            return !bodyPaused
        }
    }

    /// Whether output waits for the socket (epoll write interest).
    var hasPendingOutput: Bool { !output.isEmpty }

    /// Whether a handler started with `.startHandler` may still run (the connection defers the
    /// start to the end of the event loop's pass).
    var isAwaitingResponse: Bool {
        if isClosed { return false }
        return responsePhase == .handling
    }

    /// The next action to perform, in order; nil when there is none.
    mutating func nextAction() -> HTTPConnectionAction? {
        actions.popFirst()
    }

    private mutating func emit(_ action: HTTPConnectionAction) {
        actions.append(action)
    }

    // MARK: - Reading

    /// Room to read into after the unparsed input; nil when the input is full at its limit (the
    /// socket is not read until the parser has consumed some).
    mutating func readBuffer() -> UnsafeMutableRawBufferPointer? {
        input.reserveSpace()
    }

    /// `count` (> 0) bytes were read into `readBuffer()`.
    mutating func bytesRead(_ count: Int, now: UInt64) {
        switch lifecycle {
        case .closed:
            return
        case .lingering:
            // Dropped unread: the client gets the answer already sent, not a reset.
            input.removeAll()
            return
        case .open:
            input.commit(count)
            noteBytesArrived(now: now)
            processInput(now: now)
        }
    }

    /// The client sent its last byte (end of input, or `EPOLLRDHUP` while not reading). A partial
    /// request can never complete, and a client that stops sending while a request is in flight
    /// has gone (its answer would not be read), as Go's and nginx's servers treat it: close.
    mutating func inputClosed() {
        terminate()
    }

    /// Reading or writing failed, or the socket was reset: close.
    mutating func connectionFailed() {
        terminate()
    }

    /// Moves the read deadline: the first byte of a head starts the header timeout; progress on a
    /// body restarts the body timeout.
    private mutating func noteBytesArrived(now: UInt64) {
        switch readTimer {
        case .idle(let deadline) where responsePhase == .idle && requestPhase == .head:
            // A new connection's header timeout runs from accept, not from its first byte.
            readTimer = .head(until: isFirstRequest ? deadline : now + environment.headerReadTimeout)
        case .body:
            readTimer = .body(until: now + environment.bodyReadTimeout)
        default:
            break
        }
    }

    /// Parses what is buffered as far as the current state allows.
    private mutating func processInput(now: UInt64) {
        while case .open = lifecycle, !requestFailed {
            switch requestPhase {
            case .head where responsePhase == .idle, .bufferedBody, .streamingBody:
                break
            default:
                return
            }
            let buffer = input.readable
            let (event, consumed) = parser.parse(buffer)
            if case .body(let range) = event {
                let bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[range]))
                input.consume(consumed)
                deliverBody(bytes)
                continue
            }
            input.consume(consumed)
            switch event {
            case .needMoreData:
                if consumed == 0 { return }
            case .head(let head):
                startRequest(head, now: now)
            case .body:
                break
            case .end:
                endRequestBody()
            case .failure(let error):
                requestBodyFailed(error)
            }
        }
    }

    // MARK: - Requests

    private mutating func startRequest(_ head: HTTPRequestHead, now: UInt64) {
        isFirstRequest = false
        currentHead = head
        currentContext = RequestContext(requestId: RequestContext.requestId(from: head.headers), peerAddress: peer,
                                        arrivalTime: .now, logger: environment.logger)
        keepAlive = head.keepAlive
        readTimer = .none

        if environment.isDraining {
            // Shutting down: no new work. The unread body (if any) is dropped by the lingering close.
            requestPhase = .complete
            requestFailed = true
            sendServerResponse(.error(status: .serviceUnavailable, message: "server is shutting down", errorType: "unavailable"),
                               reason: "draining")
            return
        }

        let hasBody = head.bodyFraming != .none
        // Without a body the policy changes nothing; skip the route lookup it costs.
        let policy = hasBody ? environment.bodyPolicy(for: head) : .buffered()
        parser.bodyLimit = policy.maxSize ?? environment.configuration.limits.maxBodySize
        if hasBody { readTimer = .body(until: now + environment.bodyReadTimeout) }
        var tooLarge = false
        if case .contentLength(let length) = head.bodyFraming, length > parser.bodyLimit { tooLarge = true }

        switch policy {
        case .buffered:
            requestPhase = .bufferedBody
            bufferedBody = []
            if case .contentLength(let length) = head.bodyFraming, !tooLarge {
                bufferedBody.reserveCapacity(min(length, 1 << 20))
            }
            // The client waits for 100 before sending; a body that is too large gets the 413 instead.
            if head.expectsContinue && hasBody && !tooLarge && input.isEmpty { sendContinue() }
        case .streaming:
            requestPhase = .streamingBody
            bodyPaused = false
            continueOwed = head.expectsContinue && hasBody && !tooLarge
            responsePhase = .handling
            emit(.startHandler(head, .streaming))
        }
    }

    private mutating func deliverBody(_ bytes: [UInt8]) {
        switch requestPhase {
        case .bufferedBody:
            bufferedBody += bytes
        case .streamingBody:
            emit(.deliverBody(bytes))
        default:
            break
        }
    }

    private mutating func endRequestBody() {
        readTimer = .none
        switch requestPhase {
        case .bufferedBody:
            requestPhase = .complete
            let body = bufferedBody
            bufferedBody = []
            responsePhase = .handling
            emit(.startHandler(currentHead!, .buffered(body)))
        case .streamingBody:
            requestPhase = .complete
            emit(.finishBody)
        default:
            break
        }
    }

    private mutating func requestBodyFailed(_ error: HTTPParseError) {
        requestFailed = true
        readTimer = .none
        if requestPhase == .streamingBody {
            // The handler is already running: its next read throws the error (413 / 400), it
            // answers, and the connection closes after that.
            requestPhase = .complete
            keepAlive = false
            emit(.failBody(error))
            return
        }
        requestPhase = .complete
        let response = HTTPResponse.error(status: error.status, message: error.description, errorType: error.errorType)
        sendServerResponse(response, reason: error.description)
    }

    /// The body stream asked the connection to stop reading (its consumer is behind).
    mutating func bodyConsumerPaused() {
        bodyPaused = true
        readTimer = .none
    }

    /// The handler started reading a streamed body, or drained it below the low-water mark.
    mutating func bodyDemanded(now: UInt64) {
        guard !isClosed else { return }
        if continueOwed {
            continueOwed = false
            if responsePhase == .handling { sendContinue() }
        }
        if bodyPaused {
            bodyPaused = false
            if requestPhase == .streamingBody { readTimer = .body(until: now + environment.bodyReadTimeout) }
            processInput(now: now)
        }
    }

    private mutating func sendContinue() {
        enqueue(continueResponse)
    }

    // MARK: - Responses

    /// The handler's response. After the client left it is not sent; a streamed body's producer
    /// still runs, against a writer that fails (`abandonProducer`).
    mutating func responseReady(_ response: HTTPResponse) {
        guard !isClosed, responsePhase == .handling else {
            if case .stream(let producer) = response.body { emit(.abandonProducer(producer)) }
            return
        }
        continueOwed = false
        writeResponse(response)
    }

    /// A response the server makes itself (parse errors, timeouts, draining): always closes.
    private mutating func sendServerResponse(_ response: HTTPResponse, reason: String) {
        keepAlive = false
        responsePhase = .handling
        let requestId = currentContext?.requestId ?? RequestContext.generateRequestId()
        if currentContext == nil {
            currentContext = RequestContext(requestId: requestId, peerAddress: peer, logger: environment.logger)
        }
        emit(.log(.serverResponse(method: currentHead?.method.rawValue ?? "-", path: currentHead?.path ?? "-",
                                  status: response.status, bytes: response.knownLength ?? 0, requestId: requestId,
                                  reason: reason)))
        writeResponse(response)
    }

    private mutating func writeResponse(_ response: HTTPResponse) {
        if environment.isDraining || requestFailed { keepAlive = false }
        let serialized = serializer.serialize(response, method: currentHead?.method, version: currentHead?.version ?? .http1_1,
                                              keepAlive: keepAlive, requestId: currentContext?.requestId,
                                              dateLine: environment.dateLine)
        keepAlive = serialized.keepAlive
        output.append(serialized.head)
        output.append(serialized.body)
        if let producer = serialized.producer {
            responsePhase = .streaming
            responseFraming = serialized.framing
            emit(.startProducer(producer))
        } else {
            responsePhase = .finishing
        }
        scheduleWrite()
    }

    /// A write of the streamed response body (not empty). Its writer is resumed (`resumeWriter`)
    /// once the socket has taken the bytes or at least all but a high-water mark of the unsent
    /// output; otherwise it waits until the output has drained.
    mutating func responseBodyChunk(_ bytes: [UInt8]) {
        guard !isClosed, responsePhase == .streaming else {
            emit(.failWriter(HTTPError.clientDisconnected))
            return
        }
        guard responseFraming.encode(bytes, into: &output) else {
            emit(.failWriter(HTTPError(.internalServerError, "streamed body longer than its Content-Length")))
            emit(.log(.streamedBodyTooLong(requestId: requestIdForLog)))
            terminate()
            return
        }
        writer = .deciding
        scheduleWrite()
    }

    /// The streamed body's producer returned (`failure` nil) or threw.
    mutating func responseBodyFinished(failure: (any Error)?, now: UInt64) {
        guard !isClosed, responsePhase == .streaming else { return }
        if let failure {
            // The head (and maybe part of the body) is out: the only honest signal left is to
            // close without the final chunk, so the client sees a truncated body.
            emit(.log(.streamedResponseFailed(requestId: requestIdForLog, error: failure)))
            terminate()
            return
        }
        guard responseFraming.finish(into: &output) else {
            emit(.log(.streamedBodyTooShort(requestId: requestIdForLog)))
            terminate()
            return
        }
        responsePhase = .finishing
        if output.isEmpty {
            outputDrained(now: now)
        } else {
            scheduleWrite()
        }
    }

    private var requestIdForLog: String { currentContext?.requestId ?? "-" }

    /// The response is completely written: next request, or close.
    private mutating func finishResponse(now: UInt64) {
        responsePhase = .idle
        currentHead = nil
        currentContext = nil
        emit(.requestCompleted)
        if !keepAlive || requestPhase != .complete || environment.isDraining {
            startLingeringClose(now: now)
            return
        }
        requestPhase = .head
        if input.isEmpty {
            readTimer = .idle(until: now + environment.idleTimeout)
        } else {
            readTimer = .head(until: now + environment.headerReadTimeout)
        }
        processInput(now: now)
    }

    // MARK: - Writing

    private mutating func enqueue(_ bytes: [UInt8]) {
        output.append(bytes)
        scheduleWrite()
    }

    private mutating func scheduleWrite() {
        guard !writeScheduled, !output.isEmpty else { return }
        writeScheduled = true
        emit(.write)
    }

    /// The socket can take more (`EPOLLOUT`).
    mutating func writable() {
        guard !isClosed else { return }
        scheduleWrite()
    }

    /// A `.write` sent `count` (> 0) bytes.
    mutating func bytesWritten(_ count: Int, now: UInt64) {
        writeScheduled = false
        guard !isClosed else { return }
        output.consume(count)
        if output.isEmpty {
            writeDeadline = nil
            outputDrained(now: now)
        } else {
            // Progress restarts the write timeout; the rest goes at once if the socket takes it.
            writeDeadline = now + environment.writeTimeout
            scheduleWrite()
        }
    }

    /// A `.write` found the socket full: wait for `writable()`, within the write timeout.
    mutating func writeWouldBlock(now: UInt64) {
        writeScheduled = false
        guard !isClosed else { return }
        if writeDeadline == nil { writeDeadline = now + environment.writeTimeout }
        if writer == .deciding {
            if output.count > environment.configuration.responseHighWaterMark {
                writer = .waiting
            } else {
                writer = .none
                emit(.resumeWriter)
            }
        }
    }

    private mutating func outputDrained(now: UInt64) {
        if writer != .none {
            writer = .none
            emit(.resumeWriter)
        }
        if responsePhase == .finishing { finishResponse(now: now) }
    }

    // MARK: - Closing

    /// Half-closes after the last response and drops whatever the client still sends for a while,
    /// so a client still uploading (after a 413, say) reads the answer rather than a reset.
    private mutating func startLingeringClose(now: UInt64) {
        guard !isClosed else { return }
        emit(.shutdownWrite)
        if environment.lingerTimeout == 0 {
            terminate()
            return
        }
        lifecycle = .lingering(until: now + environment.lingerTimeout)
        input.removeAll()
    }

    /// Closes the connection (from outside, e.g. when registering it failed, or the drain timed out).
    mutating func close() {
        terminate()
    }

    /// Closes now. A request still in flight learns that its client is gone.
    private mutating func terminate() {
        guard !isClosed else { return }
        lifecycle = .closed
        let inFlight = responsePhase == .handling || responsePhase == .streaming
        output.removeAll()
        writeScheduled = false
        writer = .none
        emit(.close(disconnection: inFlight ? currentContext?.disconnection : nil))
    }

    // MARK: - Timers and shutdown

    /// The clock reads `now`: enforces the linger, write and read deadlines.
    mutating func tick(now: UInt64) {
        switch lifecycle {
        case .closed:
            return
        case .lingering(let deadline):
            if now >= deadline { terminate() }
            return
        case .open:
            break
        }
        if let writeDeadline, now >= writeDeadline {
            emit(.log(.writeTimeout(requestId: requestIdForLog)))
            terminate()
            return
        }
        switch readTimer {
        case .none:
            break
        case .idle(let deadline):
            guard now >= deadline else { return }
            readTimer = .none
            terminate()
        case .head(let deadline):
            guard now >= deadline else { return }
            readTimer = .none
            requestPhase = .complete
            requestFailed = true
            sendServerResponse(.error(status: .requestTimeout, message: "request head not received in time", errorType: "request_timeout"),
                               reason: "header read timeout")
        case .body(let deadline):
            guard now >= deadline else { return }
            readTimer = .none
            let error = HTTPError(.requestTimeout, "request body not received in time", errorType: "request_timeout")
            requestFailed = true
            if requestPhase == .streamingBody {
                requestPhase = .complete
                keepAlive = false
                emit(.failBody(error))
            } else {
                requestPhase = .complete
                sendServerResponse(.error(status: error.status, message: error.message, errorType: error.errorType),
                                   reason: "body read timeout")
            }
        }
    }

    /// The server is shutting down: an idle connection closes now, a busy one after its response.
    mutating func beginDrain() {
        guard case .open = lifecycle else {
            // Lingering: it closes by itself.
            return
        }
        if responsePhase == .idle && requestPhase == .head && input.isEmpty {
            terminate()
        } else {
            keepAlive = false
        }
    }
}

/// The interim response that lets a client waiting on `Expect: 100-continue` send its body.
private let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
