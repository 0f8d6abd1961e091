/// What `HTTPConnectionStateMachine` asks its connection to do. The connection performs each, in
/// order, and reports what came of it as new events (`bytesWritten`, `bodyConsumerPaused`, …).
enum HTTPConnectionAction {
    /// How the body reaches a handler being started.
    enum HandlerBody {
        /// Complete.
        case buffered([UInt8])
        /// Read as the handler consumes it: the connection makes the body stream that
        /// `deliverBody`, `finishBody` and `failBody` feed, and reports the stream's demand with
        /// `bodyDemanded(now:)`.
        case streaming
    }

    /// Something to log, with the request id (`-` when there is none).
    enum Diagnostic {
        /// A response the server made itself (a rejected or timed-out request, draining).
        case serverResponse(method: String, path: String, status: HTTPStatus, bytes: Int, requestId: String, reason: String)
        case streamedBodyTooLong(requestId: String)
        case streamedBodyTooShort(requestId: String)
        case streamedResponseFailed(requestId: String, error: any Error)
        case writeTimeout(requestId: String)
    }

    /// One `write`/`writev` of the output queue; report `bytesWritten(_:now:)`,
    /// `writeWouldBlock(now:)` or `connectionFailed()`.
    case write
    /// Run the responder for this request (its response comes back as `responseReady`), with the
    /// machine's `currentContext`. (The context is not carried here: its clock instant is a
    /// resilient type, which would make every action's copy and switch go through the runtime.)
    case startHandler(HTTPRequestHead, HandlerBody)
    /// Append to the request body stream; report `bodyConsumerPaused()` when it asks to pause.
    case deliverBody([UInt8])
    /// The request body stream is complete.
    case finishBody
    /// The request body stream fails with this error (a limit, a malformed chunk, a timeout).
    case failBody(any Error)
    /// Start a streamed response body's producer: its writes come back as `responseBodyChunk`,
    /// its end as `responseBodyFinished`.
    case startProducer(@Sendable (any HTTPBodyWriter) async throws -> Void)
    /// A streamed response that can no longer be sent: run its producer once against a writer that
    /// fails, so what wraps it (metrics, cleanup) sees its end.
    case abandonProducer(@Sendable (any HTTPBodyWriter) async throws -> Void)
    /// Let the suspended response-body write return.
    case resumeWriter
    /// Let the suspended response-body write throw.
    case failWriter(any Error)
    /// The exchange is over: drop what belongs to it (its request body stream).
    case requestCompleted
    /// Half-close: no more output (`shutdown(SHUT_WR)`).
    case shutdownWrite
    /// Close the socket now: tell the handler of an in-flight request that its client is gone
    /// (`disconnection`), cancel its tasks, fail its body stream and a suspended write.
    case close(disconnection: ClientDisconnection?)
    /// Log this.
    case log(Diagnostic)
}
