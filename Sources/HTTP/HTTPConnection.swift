import CEpoll
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One client connection on an event loop: the socket, its epoll registration, and the tasks of
/// the request in flight. What to do is decided by `HTTPConnectionStateMachine`; this class feeds
/// it events (readiness, bytes read and written, responses, ticks) and performs the actions it
/// returns (writes, handler and producer tasks, the body stream, closing).
///
/// Its state is guarded by a per-connection lock (uncontended almost always): the event loop
/// reads and parses under it, and the handler's task writes the response under it directly, so a
/// response costs the loop no wake-up. Operations on the loop's own structures (epoll interest,
/// deregistration) are done on the loop thread, posted there when needed. That lock is why the
/// `@unchecked Sendable` is sound.
final class HTTPConnection: EventLoopHandler, @unchecked Sendable {
    private let descriptor: Int32
    private let peer: SocketAddress?
    private let loop: EventLoop
    private let core: HTTPServerCore
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var machine: HTTPConnectionStateMachine<HTTPServerCore>

    // What the actions act on, besides the socket.
    private var handlerTask: Task<Void, Never>?
    private var producerTask: Task<Void, Never>?
    private var bodyStream: HTTPBodyStream?
    /// The streamed-body `write` in progress (resumed by `.resumeWriter` or `.failWriter`).
    private var writeWaiter: CheckedContinuation<Void, any Error>?
    private var registeredEvents: UInt32 = 0

    init(descriptor: Int32, peer: SocketAddress?, loop: EventLoop, core: HTTPServerCore) {
        self.descriptor = descriptor
        self.peer = peer
        self.loop = loop
        self.core = core
        machine = HTTPConnectionStateMachine(environment: core, peer: peer, now: monotonicNanoseconds())
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
        if machine.isClosed { return }
        if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            // Reset or fully closed: nothing can be delivered any more.
            machine.connectionFailed()
            performActions()
            return
        }
        if events & EPOLLOUT.rawValue != 0 {
            machine.writable()
            performActions()
        }
        if machine.isClosed { return }
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 {
            if machine.wantsRead {
                readAvailable()
            } else if events & EPOLLRDHUP.rawValue != 0 {
                // The client stopped sending while we are not reading (a request in flight, the
                // buffer full): it has gone.
                machine.inputClosed()
            }
        }
        performActions()
    }

    private func readAvailable() {
        guard let buffer = machine.readBuffer() else { return }
        let count: Int?
        do {
            count = try syscall("read") { read(descriptor, buffer.baseAddress, buffer.count) }
        } catch {
            machine.connectionFailed()
            return
        }
        guard let count else { return }
        if count == 0 {
            machine.inputClosed()
        } else {
            machine.bytesRead(count, now: monotonicNanoseconds())
        }
    }

    /// The handler started reading a streamed body, or drained it below the low-water mark.
    private func bodyDemanded() {
        machine.bodyDemanded(now: monotonicNanoseconds())
        performActions()
    }

    private func responseReady(_ response: HTTPResponse) {
        handlerTask = nil
        machine.responseReady(response)
        performActions()
    }

    /// A chunk from the streamed-body producer; `continuation` resumes once it may write again.
    func writeBodyChunk(_ bytes: [UInt8], continuation: CheckedContinuation<Void, any Error>) {
        withLock {
            writeWaiter = continuation
            machine.responseBodyChunk(bytes)
            performActions()
        }
    }

    private func streamFinished(_ failure: (any Error)?) {
        producerTask = nil
        machine.responseBodyFinished(failure: failure, now: monotonicNanoseconds())
        performActions()
    }

    func tick(now: UInt64) {
        withLock {
            machine.tick(now: now)
            performActions()
        }
    }

    func beginDrain() {
        withLock {
            machine.beginDrain()
            performActions()
        }
    }

    /// Closes the connection (from outside, e.g. when registering it failed).
    func close() {
        withLock {
            machine.close()
            performActions()
        }
    }

    func forceClose() { close() }

    // MARK: - Actions

    /// Performs the machine's actions in order (each may report back and add more), then brings
    /// the epoll interest up to date.
    private func performActions() {
        while let action = machine.nextAction() {
            perform(action)
        }
        updateInterest()
    }

    /// Performs one action (consumed: its payload is moved, not copied).
    private func perform(_ action: consuming HTTPConnectionAction) {
        switch consume action {
        case .write:
            writeOutput()
        case .startHandler(let head, let body):
            dispatch(head, context: machine.currentContext!, body: body)
        case .deliverBody(let bytes):
            if bodyStream?.append(bytes) == true { machine.bodyConsumerPaused() }
        case .finishBody:
            bodyStream?.finish()
        case .failBody(let error):
            bodyStream?.fail(error)
        case .startProducer(let producer):
            startProducer(producer)
        case .abandonProducer(let producer):
            Task(executorPreference: core.handlerExecutor) {
                try? await producer(DisconnectedBodyWriter())
            }
        case .resumeWriter:
            writeWaiter?.resume()
            writeWaiter = nil
        case .failWriter(let error):
            writeWaiter?.resume(throwing: error)
            writeWaiter = nil
        case .requestCompleted:
            bodyStream = nil
        case .shutdownWrite:
            _ = try? syscall("shutdown") { shutdown(descriptor, Int32(SHUT_WR)) }
        case .close(let disconnection):
            closeSocket(signalling: disconnection)
        case .log(let diagnostic):
            log(diagnostic)
        }
    }

    /// One `write`/`writev` of up to 16 queued arrays.
    private func writeOutput() {
        let result = machine.output.withUnsafeVectors { vectors -> Result<Int?, SystemCallError> in
            Result { () throws(SystemCallError) -> Int? in
                if vectors.count == 1 {
                    try syscall("write") { write(descriptor, vectors[0].iov_base, vectors[0].iov_len) }
                } else {
                    try syscall("writev") { writev(descriptor, vectors.baseAddress, Int32(vectors.count)) }
                }
            }
        }
        switch result {
        case .failure:
            machine.connectionFailed()
        case .success(let written?) where written > 0:
            machine.bytesWritten(written, now: monotonicNanoseconds())
        case .success:
            machine.writeWouldBlock(now: monotonicNanoseconds())
        }
    }

    private func dispatch(_ head: HTTPRequestHead, context: RequestContext, body: HTTPConnectionAction.HandlerBody) {
        let request: HTTPRequest
        switch body {
        case .buffered(let bytes):
            request = HTTPRequest(head: head, body: HTTPRequestBody(bytes: bytes))
        case .streaming:
            // The stream holds the connection until `close()` or the end of the exchange drops it.
            let stream = HTTPBodyStream(highWaterMark: core.configuration.requestBodyHighWaterMark) { [self] in
                withLock { bodyDemanded() }
            }
            bodyStream = stream
            request = HTTPRequest(head: head, body: HTTPRequestBody(stream: stream))
        }
        if loop.isLoopThread {
            // One pass's requests reach the handler threads as one burst.
            loop.afterEvents { [self] in withLock { startHandler(request, context: context) } }
        } else {
            startHandler(request, context: context)  // a pipelined request, parsed after the previous response
        }
    }

    private func startHandler(_ request: HTTPRequest, context: RequestContext) {
        guard machine.isAwaitingResponse else { return }
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

    private func startProducer(_ producer: @escaping @Sendable (any HTTPBodyWriter) async throws -> Void) {
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
    }

    /// Closes the socket now. A request still in flight learns that its client is gone.
    private func closeSocket(signalling disconnection: ClientDisconnection?) {
        disconnection?.signal()
        handlerTask?.cancel()
        producerTask?.cancel()
        bodyStream?.fail(HTTPError.clientDisconnected)
        bodyStream = nil
        if let waiter = writeWaiter {
            writeWaiter = nil
            waiter.resume(throwing: HTTPError.clientDisconnected)
        }
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

    private func log(_ diagnostic: HTTPConnectionAction.Diagnostic) {
        switch diagnostic {
        case .serverResponse(let method, let path, let status, let bytes, let requestId, let reason):
            core.logServerResponse(method: method, path: path, status: status, bytes: bytes, requestId: requestId,
                                   peer: peer, reason: reason)
        case .streamedBodyTooLong(let requestId):
            core.logger.error("streamed body longer than its Content-Length", ["request_id": .string(requestId)])
        case .streamedBodyTooShort(let requestId):
            core.logger.error("streamed body shorter than its Content-Length", ["request_id": .string(requestId)])
        case .streamedResponseFailed(let requestId, let error):
            core.logger.error("streamed response failed", ["request_id": .string(requestId), "error": .string(String(describing: error))])
        case .writeTimeout(let requestId):
            core.logger.warning("write timeout", ["request_id": .string(requestId), "peer": .string(peer?.description ?? "-")])
        }
    }

    // MARK: - epoll interest

    private var interest: UInt32 {
        var events = EPOLLRDHUP.rawValue
        if machine.wantsRead { events |= EPOLLIN.rawValue }
        if machine.hasPendingOutput { events |= EPOLLOUT.rawValue }
        return events
    }

    private func updateInterest() {
        guard !machine.isClosed else { return }
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
}
