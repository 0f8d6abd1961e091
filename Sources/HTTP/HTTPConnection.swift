import CEpoll
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One client connection: reads and parses requests, runs each on a Swift task through the
/// responder, writes responses in order, and enforces the limits and timeouts.
///
/// Its state is guarded by a per-connection lock (uncontended almost always): the event loop
/// reads and parses under it, and the handler's task writes the response under it directly, so a
/// response costs the loop no wake-up. Operations on the loop's own structures (epoll interest,
/// deregistration) are done on the loop thread, posted there when needed. That lock is why the
/// `@unchecked Sendable` is sound.
///
/// One request is in flight at a time: pipelined requests wait in the input buffer until the
/// previous response has been written, so responses are always in request order.
final class HTTPConnection: EventLoopHandler, @unchecked Sendable {
    private let descriptor: Int32
    private let peer: SocketAddress?
    private let loop: EventLoop
    private let core: HTTPServerCore
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

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
    private var currentContext: RequestContext?
    private var bufferedBody: [UInt8] = []
    private var bodyStream: HTTPBodyStream?
    /// The body stream's consumer is behind: the socket is not read.
    private var bodyPaused = false
    /// `100 Continue` is owed once the handler starts reading the streamed body.
    private var continueOwed = false
    /// The request body ended in an error (limit, malformed chunk, timeout): never read again.
    private var requestFailed = false

    // MARK: - Output

    private var output = HTTPOutputQueue()

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
    private var streamFraming = HTTPResponseBodyFraming.chunked
    private var handlerTask: Task<Void, Never>?
    private var producerTask: Task<Void, Never>?
    /// A streamed-body `write` waiting for the unsent bytes to drop below the low-water mark.
    private var writeWaiter: CheckedContinuation<Void, any Error>?
    private var keepAlive = true

    // MARK: - Lifecycle and timers

    private enum ReadDeadline { case none, idle, head, body }
    private var readDeadlineKind = ReadDeadline.idle
    private var readDeadline: UInt64
    private var writeDeadline: UInt64 = 0
    private var lingerDeadline: UInt64 = 0
    private var lingering = false
    private var closed = false
    private var isFirstRequest = true
    private var registeredEvents: UInt32 = 0

    init(descriptor: Int32, peer: SocketAddress?, loop: EventLoop, core: HTTPServerCore) {
        self.descriptor = descriptor
        self.peer = peer
        self.loop = loop
        self.core = core
        let limits = core.configuration.limits
        // A full head at the limit plus read room.
        input = HTTPInputBuffer(capacityLimit: max(limits.maxHeadSize, limits.maxChunkLineSize) + 16 * 1024)
        parser = HTTPRequestParser(limits: limits)
        // A new connection gets the header timeout (not the idle one) for its first request.
        readDeadline = monotonicNanoseconds() + core.headerReadTimeout
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` holding the connection's lock. Every entry point takes it once; the private
    /// methods below assume it is held.
    @inline(__always)
    private func withLock<Result>(_ body: () -> Result) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Registers with the loop (on the loop thread, right after accept).
    func activate() throws(SystemCallError) {
        let events = withLock { interest }
        registeredEvents = events
        try loop.register(descriptor, handler: self, events: events)
        if core.isDraining { beginDrain() }
    }

    // MARK: - Events

    func handleEvents(_ events: UInt32) {
        withLock { handleEventsLocked(events) }
    }

    private func handleEventsLocked(_ events: UInt32) {
        if closed { return }
        if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            // Reset or fully closed: nothing can be delivered any more.
            terminate()
            return
        }
        if events & EPOLLOUT.rawValue != 0 { flush() }
        if closed { return }
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 {
            if wantsRead {
                readAvailable()
            } else if events & EPOLLRDHUP.rawValue != 0 {
                // The client stopped sending while we are not reading (a request in flight, the
                // buffer full): it has gone, like Go's and nginx's servers treat it.
                terminate()
                return
            }
        }
        if !closed { updateInterest() }
    }

    private var wantsRead: Bool {
        if closed { return false }
        if lingering { return true }
        if requestFailed { return false }
        switch requestPhase {
        case .head, .complete:
            // With a request in flight, keep reading (to see a disconnect, and pipelined requests)
            // until a head's worth is buffered.
            return responsePhase == .idle || input.count < core.configuration.limits.maxHeadSize
        case .bufferedBody:
            return true
        case .streamingBody:
            return !bodyPaused
        }
    }

    private var interest: UInt32 {
        var events = EPOLLRDHUP.rawValue
        if wantsRead { events |= EPOLLIN.rawValue }
        if !output.isEmpty { events |= EPOLLOUT.rawValue }
        return events
    }

    private func updateInterest() {
        guard !closed else { return }
        let events = interest
        guard events != registeredEvents else { return }
        if loop.isLoopThread {
            registeredEvents = events
            loop.modify(descriptor, events: events)
        } else {
            // epoll registration belongs to the loop: let it recompute there.
            loop.execute { [self] in withLock { updateInterest() } }
        }
    }

    // MARK: - Reading

    private func readAvailable() {
        guard let buffer = input.reserveSpace() else { return }
        let count: Int?
        do {
            count = try syscall("read") { read(descriptor, buffer.baseAddress, buffer.count) }
        } catch {
            terminate()
            return
        }
        guard let count else { return }
        if count == 0 {
            // End of input: a partial request can never complete, and a client that stops sending
            // while a request is in flight has gone (its answer would not be read).
            terminate()
            return
        }
        if lingering {
            input.removeAll()
            return
        }
        input.commit(count)
        noteBytesArrived()
        processInput()
    }

    /// Moves the read deadline: the first byte of a head starts the header timeout; progress on a
    /// body restarts the body timeout.
    private func noteBytesArrived() {
        switch readDeadlineKind {
        case .idle where responsePhase == .idle && requestPhase == .head:
            readDeadlineKind = .head
            if !isFirstRequest { readDeadline = monotonicNanoseconds() + core.headerReadTimeout }
        case .body:
            readDeadline = monotonicNanoseconds() + core.bodyReadTimeout
        default:
            break
        }
    }

    /// Parses what is buffered as far as the current state allows.
    private func processInput() {
        while !closed && !lingering && !requestFailed {
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
                startRequest(head)
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

    private func startRequest(_ head: HTTPRequestHead) {
        isFirstRequest = false
        let context = RequestContext(requestId: RequestContext.requestId(from: head.headers), peerAddress: peer,
                                     arrivalTime: .now, logger: core.logger)
        currentHead = head
        currentContext = context
        keepAlive = head.keepAlive
        readDeadlineKind = .none
        readDeadline = 0

        if core.isDraining {
            // Shutting down: no new work. The unread body (if any) is dropped by the lingering close.
            requestPhase = .complete
            requestFailed = true
            sendServerResponse(.error(status: .serviceUnavailable, message: "server is shutting down", errorType: "unavailable"),
                               reason: "draining")
            return
        }

        let hasBody = head.bodyFraming != .none
        // Without a body the policy changes nothing; skip the route lookup it costs.
        let policy = hasBody ? core.responder.bodyPolicy(for: head) : .buffered()
        parser.bodyLimit = policy.maxSize ?? core.configuration.limits.maxBodySize
        if hasBody {
            readDeadlineKind = .body
            readDeadline = monotonicNanoseconds() + core.bodyReadTimeout
        }
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
            // The stream holds the connection until `close()` or the next request drops the stream.
            let stream = HTTPBodyStream(highWaterMark: core.configuration.requestBodyHighWaterMark) { [self] in
                withLock { bodyDemanded() }
            }
            bodyStream = stream
            dispatch(HTTPRequest(head: head, body: HTTPRequestBody(stream: stream)))
        }
    }

    private func deliverBody(_ bytes: [UInt8]) {
        switch requestPhase {
        case .bufferedBody:
            bufferedBody += bytes
        case .streamingBody:
            if bodyStream?.append(bytes) == true {
                bodyPaused = true
                readDeadlineKind = .none
                readDeadline = 0
            }
        default:
            break
        }
    }

    private func endRequestBody() {
        readDeadlineKind = .none
        readDeadline = 0
        switch requestPhase {
        case .bufferedBody:
            requestPhase = .complete
            let body = bufferedBody
            bufferedBody = []
            dispatch(HTTPRequest(head: currentHead!, body: HTTPRequestBody(bytes: body)))
        case .streamingBody:
            requestPhase = .complete
            bodyStream?.finish()
        default:
            break
        }
    }

    /// The handler started reading a streamed body, or drained it below the low-water mark.
    private func bodyDemanded() {
        guard !closed else { return }
        if continueOwed {
            continueOwed = false
            if responsePhase == .handling { sendContinue() }
        }
        if bodyPaused {
            bodyPaused = false
            if requestPhase == .streamingBody {
                readDeadlineKind = .body
                readDeadline = monotonicNanoseconds() + core.bodyReadTimeout
            }
            processInput()
            updateInterest()
        }
    }

    private func requestBodyFailed(_ error: HTTPParseError) {
        requestFailed = true
        readDeadlineKind = .none
        readDeadline = 0
        if requestPhase == .streamingBody {
            // The handler is already running: its next read throws the error (413 / 400), it
            // answers, and the connection closes after that.
            requestPhase = .complete
            keepAlive = false
            bodyStream?.fail(error)
            return
        }
        requestPhase = .complete
        let response = HTTPResponse.error(status: error.status, message: error.description, errorType: error.errorType)
        sendServerResponse(response, reason: error.description)
    }

    private func sendContinue() {
        enqueue(continueResponse)
        flush()
    }

    // MARK: - Handlers

    private func dispatch(_ request: HTTPRequest) {
        responsePhase = .handling
        if loop.isLoopThread {
            loop.afterEvents { [self] in withLock { startHandler(request) } }
        } else {
            startHandler(request)  // a pipelined request, parsed after the previous response
        }
    }

    private func startHandler(_ request: HTTPRequest) {
        guard !closed, responsePhase == .handling else { return }
        let context = currentContext!
        let responder = core.responder
        handlerTask = Task(executorPreference: core.handlerExecutor) { [self] in
            let response: HTTPResponse
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                response = HTTPResponse.forError(error, requestId: context.requestId)
            }
            self.withLock { self.responseReady(response) }
        }
    }

    private func responseReady(_ response: HTTPResponse) {
        handlerTask = nil
        guard !closed, responsePhase == .handling else {
            abandon(response)
            return
        }
        continueOwed = false
        writeResponse(response)
    }

    /// A response that can no longer be sent (the client went while the handler ran). A streamed
    /// body's producer still runs, once, against a writer that fails at its first write: what wraps
    /// the producer (request metrics, statistics, cleanup in `defer`) must see its response end,
    /// or an in-flight count would never come down.
    private func abandon(_ response: HTTPResponse) {
        guard case .stream(let producer) = response.body else { return }
        Task(executorPreference: core.handlerExecutor) {
            try? await producer(DisconnectedBodyWriter())
        }
    }

    /// A response the server makes itself (parse errors, timeouts, draining): always closes.
    private func sendServerResponse(_ response: HTTPResponse, reason: String) {
        keepAlive = false
        responsePhase = .handling
        let requestId = currentContext?.requestId ?? RequestContext.generateRequestId()
        if currentContext == nil {
            currentContext = RequestContext(requestId: requestId, peerAddress: peer, logger: core.logger)
        }
        core.logServerResponse(method: currentHead?.method.rawValue ?? "-", path: currentHead?.path ?? "-",
                               status: response.status, bytes: response.knownLength ?? 0, requestId: requestId,
                               peer: peer, reason: reason)
        writeResponse(response)
    }

    // MARK: - Writing responses

    private func writeResponse(_ response: HTTPResponse) {
        let head = currentHead
        if core.isDraining || requestFailed { keepAlive = false }
        let serializer = HTTPResponseHeadSerializer(serverHeaderLine: core.serverHeaderLine)
        let serialized = serializer.serialize(response, method: head?.method, version: head?.version ?? .http1_1,
                                              keepAlive: keepAlive, requestId: currentContext?.requestId,
                                              dateLine: { HTTPDateCache.shared.headerLine() })
        keepAlive = serialized.keepAlive
        output.append(serialized.head)
        output.append(serialized.body)

        if let producer = serialized.producer {
            responsePhase = .streaming
            streamFraming = serialized.framing
            let writer = ConnectionBodyWriter(connection: self)
            producerTask = Task(executorPreference: core.handlerExecutor) { [self] in
                let failure: (any Error)?
                do {
                    try await producer(writer)
                    failure = nil
                } catch {
                    failure = error
                }
                self.withLock { self.streamFinished(failure) }
            }
        } else {
            responsePhase = .finishing
        }
        flush()
    }

    /// A chunk from the streamed-body producer; `continuation` resumes once it may write again.
    fileprivate func writeBodyChunk(_ bytes: [UInt8], continuation: CheckedContinuation<Void, any Error>) {
        withLock { writeBodyChunkLocked(bytes, continuation: continuation) }
    }

    private func writeBodyChunkLocked(_ bytes: [UInt8], continuation: CheckedContinuation<Void, any Error>) {
        guard !closed, responsePhase == .streaming else {
            continuation.resume(throwing: HTTPError.clientDisconnected)
            return
        }
        guard streamFraming.encode(bytes, into: &output) else {
            continuation.resume(throwing: HTTPError(.internalServerError, "streamed body longer than its Content-Length"))
            core.logger.error("streamed body longer than its Content-Length", ["request_id": .string(currentContext?.requestId ?? "-")])
            terminate()
            return
        }
        flush()
        if closed {
            continuation.resume(throwing: HTTPError.clientDisconnected)
        } else if output.count > core.configuration.responseHighWaterMark {
            writeWaiter = continuation
        } else {
            continuation.resume()
        }
    }

    private func streamFinished(_ failure: (any Error)?) {
        producerTask = nil
        guard !closed, responsePhase == .streaming else { return }
        if let failure {
            // The head (and maybe part of the body) is out: the only honest signal left is to
            // close without the final chunk, so the client sees a truncated body.
            core.logger.error("streamed response failed", ["request_id": .string(currentContext?.requestId ?? "-"),
                                                            "error": .string(String(describing: failure))])
            terminate()
            return
        }
        guard streamFraming.finish(into: &output) else {
            core.logger.error("streamed body shorter than its Content-Length", ["request_id": .string(currentContext?.requestId ?? "-")])
            terminate()
            return
        }
        responsePhase = .finishing
        flush()
    }

    /// The response is completely written: next request, or close.
    private func finishResponse() {
        responsePhase = .idle
        currentHead = nil
        currentContext = nil
        bodyStream = nil
        if !keepAlive || requestPhase != .complete || core.isDraining {
            startLingeringClose()
            return
        }
        requestPhase = .head
        if !input.isEmpty {
            readDeadlineKind = .head
            readDeadline = monotonicNanoseconds() + core.headerReadTimeout
        } else {
            readDeadlineKind = .idle
            readDeadline = monotonicNanoseconds() + core.idleTimeout
        }
        processInput()
        updateInterest()
    }

    // MARK: - Output buffer

    private func enqueue(_ bytes: [UInt8]) {
        output.append(bytes)
    }

    /// Writes as much as the socket takes; arms `EPOLLOUT` and the write timeout when it takes less.
    private func flush() {
        while !output.isEmpty && !closed {
            let written: Int?
            do {
                written = try writeOutput()
            } catch {
                terminate()
                return
            }
            guard let written, written > 0 else {
                if writeDeadline == 0 { writeDeadline = monotonicNanoseconds() + core.writeTimeout }
                updateInterest()
                return
            }
            writeDeadline = output.count - written > 0 ? monotonicNanoseconds() + core.writeTimeout : 0
            output.consume(written)
        }
        guard !closed else { return }
        writeDeadline = 0
        if let waiter = writeWaiter, output.count <= core.configuration.responseHighWaterMark / 2 {
            writeWaiter = nil
            waiter.resume()
        }
        if output.isEmpty && responsePhase == .finishing {
            finishResponse()
        } else {
            updateInterest()
        }
    }

    /// One `write`/`writev` of up to 16 queued arrays: bytes written, nil when the socket is full.
    private func writeOutput() throws(SystemCallError) -> Int? {
        let result = output.withUnsafeVectors { vectors -> Result<Int?, SystemCallError> in
            Result { () throws(SystemCallError) -> Int? in
                if vectors.count == 1 {
                    try syscall("write") { write(descriptor, vectors[0].iov_base, vectors[0].iov_len) }
                } else {
                    try syscall("writev") { writev(descriptor, vectors.baseAddress, Int32(vectors.count)) }
                }
            }
        }
        return try result.get()
    }

    // MARK: - Closing

    /// Half-closes after the last response and drops whatever the client still sends for a while,
    /// so a client still uploading (after a 413, say) reads the answer rather than a reset.
    private func startLingeringClose() {
        guard !closed else { return }
        _ = try? syscall("shutdown") { shutdown(descriptor, Int32(SHUT_WR)) }
        if core.lingerTimeout == 0 {
            terminate()
            return
        }
        lingering = true
        input.removeAll()
        lingerDeadline = monotonicNanoseconds() + core.lingerTimeout
        updateInterest()
    }

    /// Closes the connection (from outside, e.g. when registering it failed).
    func close() {
        withLock { terminate() }
    }

    /// Closes the socket now. A request still in flight learns that its client is gone.
    private func terminate() {
        guard !closed else { return }
        closed = true
        if responsePhase == .handling || responsePhase == .streaming {
            currentContext?.disconnection.signal()
        }
        handlerTask?.cancel()
        producerTask?.cancel()
        bodyStream?.fail(HTTPError.clientDisconnected)
        bodyStream = nil
        if let waiter = writeWaiter {
            writeWaiter = nil
            waiter.resume(throwing: HTTPError.clientDisconnected)
        }
        output.removeAll()
        if loop.isLoopThread {
            loop.unregister(descriptor)
            Glibc.close(descriptor)
            core.openConnections.subtract(1, ordering: .relaxed)
        } else {
            // The descriptor is closed on the loop, after it is unregistered there, so its number
            // cannot be reused by a new connection while the loop still maps it to this one.
            _ = try? syscall("shutdown") { shutdown(descriptor, Int32(SHUT_RDWR)) }
            loop.execute { [loop, descriptor, core] in
                loop.unregister(descriptor)
                Glibc.close(descriptor)
                core.openConnections.subtract(1, ordering: .relaxed)
            }
        }
    }

    // MARK: - Timers and shutdown

    func tick(now: UInt64) {
        withLock { tickLocked(now: now) }
    }

    private func tickLocked(now: UInt64) {
        guard !closed else { return }
        if lingering {
            if now >= lingerDeadline { terminate() }
            return
        }
        if writeDeadline != 0 && now >= writeDeadline {
            core.logger.warning("write timeout", ["request_id": .string(currentContext?.requestId ?? "-"),
                                                  "peer": .string(peer?.description ?? "-")])
            terminate()
            return
        }
        guard readDeadline != 0, now >= readDeadline else { return }
        let kind = readDeadlineKind
        readDeadline = 0
        readDeadlineKind = .none
        switch kind {
        case .none:
            break
        case .idle:
            terminate()
        case .head:
            requestPhase = .complete
            requestFailed = true
            sendServerResponse(.error(status: .requestTimeout, message: "request head not received in time", errorType: "request_timeout"),
                               reason: "header read timeout")
        case .body:
            let error = HTTPError(.requestTimeout, "request body not received in time", errorType: "request_timeout")
            requestFailed = true
            if requestPhase == .streamingBody {
                requestPhase = .complete
                keepAlive = false
                bodyStream?.fail(error)
                updateInterest()
            } else {
                requestPhase = .complete
                sendServerResponse(.error(status: error.status, message: error.message, errorType: error.errorType),
                                   reason: "body read timeout")
            }
        }
    }

    func beginDrain() {
        withLock { beginDrainLocked() }
    }

    private func beginDrainLocked() {
        guard !closed else { return }
        if responsePhase == .idle && requestPhase == .head && input.isEmpty && !lingering {
            terminate()
        } else {
            keepAlive = false
        }
    }

    func forceClose() { close() }
}

/// The `HTTPBodyWriter` a streamed response body is written to: each write goes to the socket
/// from the producer's thread and suspends until the connection's unsent bytes allow more.
private struct ConnectionBodyWriter: HTTPBodyWriter {
    let connection: HTTPConnection

    func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            connection.writeBodyChunk(bytes, continuation: continuation)
        }
    }
}

/// The interim response that lets a client waiting on `Expect: 100-continue` send its body.
private let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
