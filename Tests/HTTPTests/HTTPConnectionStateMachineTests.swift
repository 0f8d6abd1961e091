import Testing
@testable import HTTP

/// The connection's protocol logic without sockets or threads: `ConnectionDriver` feeds the state
/// machine events on a fake clock and a fake socket, and each test checks the actions that follow
/// (as a transcript) and the bytes that went out.
@Suite struct HTTPConnectionStateMachineTests {
    private static let okA = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: D\r\nServer: T\r\n"
        + "X-Request-Id: a\r\nContent-Length: 1\r\n\r\nA"

    // MARK: - One request

    @Test func requestIsHandledAndAnsweredAndTheConnectionStaysOpen() {
        let driver = ConnectionDriver()
        #expect(driver.wantsRead && !driver.hasPendingOutput)
        #expect(driver.receive(get("/a", "X-Request-Id: a\r\n")) == ["handle GET /a"])
        #expect(driver.isAwaitingResponse)
        #expect(driver.handled[0].context.requestId == "a" && driver.handled[0].body == [])
        #expect(driver.respond(.text("A")) == ["write", "completed"])
        #expect(driver.sentText == Self.okA)
        #expect(!driver.isAwaitingResponse && driver.wantsRead && !driver.isClosed)
    }

    @Test func headArrivingInPiecesIsHandledOnceComplete() {
        let driver = ConnectionDriver()
        #expect(driver.receive("GET /a HT") == [])
        #expect(driver.receive("TP/1.1\r\nHost: t\r\n") == [])
        #expect(driver.receive("\r\n") == ["handle GET /a"])
    }

    @Test func bufferedBodyReachesTheHandlerWhole() {
        let driver = ConnectionDriver()
        #expect(driver.receive("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhel") == [])
        #expect(driver.receive("lo") == ["handle POST /echo [5 bytes]"])
        #expect(driver.handled[0].body == Array("hello".utf8))
        #expect(driver.receive("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n") == [])
        // The second request waits for the first one's response.
        #expect(driver.handled.count == 1)
        #expect(driver.respond(.text("1")) == ["write", "completed"])
        #expect(driver.receive("2\r\nde\r\n0\r\n\r\n") == ["handle POST /echo [5 bytes]"])
        #expect(driver.handled[1].body == Array("abcde".utf8))
    }

    @Test func requestIdComesFromTheClientOrIsGenerated() {
        let driver = ConnectionDriver()
        driver.receive(get("/a"))
        let generated = driver.handled[0].context.requestId
        #expect(generated.utf8.count == 29)
        driver.respond(.text("A"))
        #expect(driver.responses[0].headers["x-request-id"] == generated)
    }

    // MARK: - Keep-alive and closing

    @Test func connectionCloseEndsWithALingeringClose() {
        let driver = ConnectionDriver()
        driver.receive(get("/a", "Connection: close\r\n"))
        #expect(driver.respond(.text("A")) == ["write", "completed", "shutdown"])
        #expect(driver.responses[0].closesConnection)
        // Lingering: what the client still sends is read and dropped, until the linger timeout.
        #expect(driver.wantsRead && !driver.isClosed)
        #expect(driver.receive(get("/b")) == [] && driver.handled.count == 1)
        #expect(driver.tick(at: 499) == [])
        #expect(driver.tick(at: 500) == ["close"])
        #expect(driver.isClosed && !driver.wantsRead)
    }

    @Test func zeroLingerClosesRightAfterTheResponse() {
        let driver = ConnectionDriver { $0.lingerTimeout = 0 }
        driver.receive(get("/a", "Connection: close\r\n"))
        #expect(driver.respond(.text("A")) == ["write", "completed", "shutdown", "close"])
    }

    @Test func handlerCanEndKeepAliveWithConnectionClose() {
        let driver = ConnectionDriver()
        driver.receive(get("/a"))
        #expect(driver.respond(HTTPResponse(headers: ["Connection": "close"])) == ["write", "completed", "shutdown"])
        #expect(driver.responses[0].closesConnection)
    }

    @Test func http10ClosesUnlessKeepAliveIsAsked() {
        let plain = ConnectionDriver()
        #expect(plain.receive("GET /a HTTP/1.0\r\n\r\n") == ["handle GET /a"])
        #expect(plain.respond(.text("A")) == ["write", "completed", "shutdown"])
        #expect(plain.responses[0].closesConnection)

        let kept = ConnectionDriver()
        kept.receive("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(kept.respond(.text("A")) == ["write", "completed"])
        #expect(kept.responses[0].headers["connection"] == "keep-alive")
    }

    @Test func closeFromOutsideEndsEverything() {
        let driver = ConnectionDriver()
        #expect(driver.close() == ["close"])
        #expect(driver.isClosed && !driver.wantsRead)
        // Later events change nothing.
        #expect(driver.receive(get("/a")) == [])
        #expect(driver.tick(at: 1_000_000) == [])
        #expect(driver.close() == [] && driver.clientHalfCloses() == [])
    }

    // MARK: - Pipelining

    @Test func pipelinedRequestsInOneReadAreAnsweredInOrderOneAtATime() {
        let driver = ConnectionDriver()
        #expect(driver.receive(get("/1") + post("/2", "hello") + get("/3")) == ["handle GET /1"])
        #expect(driver.respond(.text("1")) == ["write", "completed", "handle POST /2 [5 bytes]"])
        #expect(driver.respond(.text("2")) == ["write", "completed", "handle GET /3"])
        #expect(driver.respond(.text("3")) == ["write", "completed"])
        #expect(driver.responses.map(\.body) == ["1", "2", "3"])
        #expect(driver.handled.map(\.head.target) == ["/1", "/2", "/3"])
    }

    @Test func nextRequestWaitsUntilTheResponseIsFlushed() {
        let driver = ConnectionDriver()
        driver.socketRoom = 10
        driver.receive(get("/1") + get("/2"))
        #expect(driver.respond(.text("1")) == ["write", "write blocked"])
        #expect(driver.handled.count == 1 && driver.hasPendingOutput)
        #expect(driver.socketDrains() == ["write", "completed", "handle GET /2"])
    }

    @Test func pipelinedRequestAfterConnectionCloseIsNeverHandled() {
        let driver = ConnectionDriver()
        driver.receive(get("/1", "Connection: close\r\n") + get("/2"))
        #expect(driver.respond(.text("1")) == ["write", "completed", "shutdown"])
        #expect(driver.handled.count == 1)
    }

    @Test func pipelinedRequestsBeyondAHeadsWorthWaitUnread() {
        let driver = ConnectionDriver { $0.configuration.limits = HTTPParserLimits(maxRequestLineSize: 64, maxHeadSize: 100) }
        let requests = (1...6).map { get("/\($0)") }.joined()  // 28 bytes each
        driver.receive(requests)
        // A request in flight and more than a head's worth buffered: the socket is not read.
        #expect(!driver.wantsRead)
        driver.receive(get("/7"))
        #expect(driver.unread.count == 28)
        for index in 1...6 { driver.respond(.text("\(index)")) }
        #expect(driver.unread.isEmpty && driver.handled.count == 7)
        #expect(driver.responses.map(\.body) == ["1", "2", "3", "4", "5", "6"])
    }

    @Test func malformedRequestAfterAGoodOneIsAnsweredInTurn() {
        let driver = ConnectionDriver()
        #expect(driver.receive(get("/1") + "BAD\r\n\r\n") == ["handle GET /1"])
        #expect(driver.respond(.text("1")) == ["write", "completed", "log 400", "write", "completed", "shutdown"])
        #expect(driver.responses.map(\.status) == [200, 400])
    }

    // MARK: - Half-close and disconnection

    @Test func endOfInputBetweenRequestsCloses() {
        let driver = ConnectionDriver()
        driver.receive(get("/a"))
        driver.respond(.text("A"))
        #expect(driver.clientHalfCloses() == ["close"])
    }

    @Test func endOfInputWithARequestInFlightClosesAndTellsTheHandler() {
        let driver = ConnectionDriver()
        driver.receive(get("/a"))
        #expect(driver.clientHalfCloses() == ["close, tell handler"])
        #expect(driver.handled[0].context.isClientDisconnected)
        #expect(!driver.isAwaitingResponse)
        // Its response is dropped; a streamed one still runs its producer (against a failing writer).
        #expect(driver.respond(.text("A")) == [])
        #expect(driver.respond(.stream(contentType: "text/plain") { _ in }) == ["abandon"])
        #expect(driver.sent.isEmpty)
    }

    @Test func endOfInputWhileAStreamedBodyIsReadTellsTheHandler() {
        let driver = ConnectionDriver { $0.policies["/up"] = .streaming() }
        #expect(driver.receive(String(post("/up", "abc").dropLast())) == ["handle POST /up [stream]", "body ab"])
        #expect(driver.clientHalfCloses() == ["close, tell handler"])
    }

    @Test func endOfInputMidHeadOrWhileLingeringCloses() {
        let partial = ConnectionDriver()
        partial.receive("GET /a HTTP/1.1\r\n")
        #expect(partial.clientHalfCloses() == ["close"])

        let lingering = ConnectionDriver()
        lingering.receive(get("/a", "Connection: close\r\n"))
        lingering.respond(.text("A"))
        #expect(lingering.clientHalfCloses() == ["close"])
    }

    @Test func endOfInputWhileTheResponseIsBeingWrittenDropsIt() {
        let driver = ConnectionDriver()
        driver.socketRoom = 10
        driver.receive(get("/a"))
        driver.respond(.text("A"))
        // The handler is done: nothing to tell it.
        #expect(driver.clientHalfCloses() == ["close"])
        #expect(!driver.hasPendingOutput)
    }

    @Test func socketFailureWhileStreamingTellsTheHandlerAndFailsTheWriter() {
        let driver = ConnectionDriver()
        driver.receive(get("/s"))
        driver.respond(.stream(contentType: "text/plain") { _ in })
        #expect(driver.socketFails() == ["close, tell handler"])
        #expect(driver.produce("x") == ["fail writer 499"])
        #expect(driver.producerEnds() == [])
    }

    // MARK: - Timeouts

    @Test func newConnectionWithoutARequestClosesAtTheHeaderTimeout() {
        let driver = ConnectionDriver()
        #expect(driver.tick(at: 999) == [])
        #expect(driver.tick(at: 1_000) == ["close"])
    }

    @Test func firstHeadMustBeCompleteWithinTheHeaderTimeoutFromAccept() {
        let driver = ConnectionDriver()
        driver.now = 800
        driver.receive("GET /a HTTP/1.1\r\n")
        // Bytes do not extend the first head's deadline (slowloris).
        #expect(driver.tick(at: 999) == [])
        #expect(driver.tick(at: 1_000) == ["log 408", "write", "completed", "shutdown"])
        #expect(driver.responses[0].status == 408 && driver.responses[0].closesConnection)
        #expect(driver.tick(at: 1_500) == ["close"])
    }

    @Test func idleKeepAliveConnectionClosesAtTheIdleTimeout() {
        let driver = ConnectionDriver()
        driver.now = 100
        driver.receive(get("/a"))
        driver.respond(.text("A"))
        #expect(driver.tick(at: 5_099) == [])
        #expect(driver.tick(at: 5_100) == ["close"])
    }

    @Test func laterHeadGetsTheHeaderTimeoutFromItsFirstByte() {
        let driver = ConnectionDriver()
        driver.receive(get("/a"))
        driver.respond(.text("A"))
        driver.now = 3_000
        driver.receive("GET /b")
        #expect(driver.tick(at: 3_999) == [])
        #expect(driver.tick(at: 4_000) == ["log 408", "write", "completed", "shutdown"])
    }

    @Test func noReadTimeoutWhileTheHandlerRuns() {
        let driver = ConnectionDriver()
        driver.receive(get("/a"))
        #expect(driver.tick(at: 1_000_000) == [])
        #expect(driver.respond(.text("A")) == ["write", "completed"])
    }

    @Test func stalledBufferedBodyGets408AndProgressRestartsTheTimeout() {
        let driver = ConnectionDriver()
        driver.receive("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        #expect(driver.tick(at: 1_499) == [])
        driver.now = 1_500
        driver.receive("def")
        #expect(driver.tick(at: 3_499) == [])
        #expect(driver.tick(at: 3_500) == ["log 408", "write", "completed", "shutdown"])
        #expect(driver.handled.isEmpty && driver.responses[0].status == 408)
    }

    @Test func stalledStreamedBodyFailsTheStreamAndTheConnectionClosesAfterTheAnswer() {
        let driver = ConnectionDriver { $0.policies["/up"] = .streaming() }
        #expect(driver.receive("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc") == ["handle POST /up [stream]", "body abc"])
        #expect(driver.tick(at: 2_000) == ["body error 408"])
        #expect(!driver.wantsRead)
        #expect(driver.respond(.error(status: .requestTimeout, message: "slow", errorType: "request_timeout"))
                == ["write", "completed", "shutdown"])
        #expect(driver.responses[0].closesConnection)
    }

    @Test func pausedStreamedBodyHasNoReadTimeoutAndResumesOnDemand() {
        let driver = ConnectionDriver { $0.policies["/up"] = .streaming() }
        driver.streamConsumerBehind = true
        #expect(driver.receive("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\nabc") == ["handle POST /up [stream]", "body abc"])
        #expect(!driver.wantsRead)
        driver.receive("def")
        #expect(driver.unread.count == 3)
        #expect(driver.tick(at: 10_000) == [])
        // The consumer catches up: reading resumes, with a fresh body timeout.
        #expect(driver.consumerDemands() == ["body def"])
        #expect(driver.tick(at: 11_999) == [])
        #expect(driver.receive("ghi") == ["body ghi", "body end"])
        #expect(driver.streamed == Array("abcdefghi".utf8))
    }

    @Test func stalledWriteClosesAtTheWriteTimeoutAndProgressRestartsIt() {
        let driver = ConnectionDriver()
        driver.socketRoom = 10
        driver.receive(get("/a"))
        #expect(driver.respond(.text("A")) == ["write", "write blocked"])
        #expect(driver.tick(at: 1_999) == [])
        driver.now = 2_000
        #expect(driver.socketDrains(room: 5) == ["write", "write blocked"])
        #expect(driver.tick(at: 4_999) == [])
        #expect(driver.tick(at: 5_000) == ["log write timeout", "close"])
    }

    // MARK: - Early responses and limits

    @Test func declaredBodyOverTheLimitIs413BeforeItIsRead() {
        let driver = ConnectionDriver { $0.configuration.limits.maxBodySize = 10 }
        #expect(driver.receive(post("/echo", String(repeating: "x", count: 20))) == ["log 413", "write", "completed", "shutdown"])
        #expect(driver.handled.isEmpty)
        #expect(driver.responses[0].status == 413 && driver.responses[0].closesConnection)
        // The rest of the upload is read and dropped until the linger timeout.
        #expect(driver.receive(String(repeating: "y", count: 5000)) == [] && driver.unread.isEmpty)
    }

    @Test func chunkedBodyOverTheLimitIs413OnceTheTotalPassesIt() {
        let driver = ConnectionDriver { $0.configuration.limits.maxBodySize = 10 }
        #expect(driver.receive("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n") == [])
        #expect(driver.receive("8\r\n12345678\r\n") == ["log 413", "write", "completed", "shutdown"])
        #expect(driver.handled.isEmpty)
    }

    @Test func routeLimitReachesAStreamingHandlerAsItsBodysError() {
        let driver = ConnectionDriver { $0.policies["/up"] = .streaming(maxSize: 5) }
        #expect(driver.receive(post("/up", "too long")) == ["handle POST /up [stream]", "body error 413"])
        #expect(!driver.wantsRead)
        #expect(driver.respond(.error(status: .contentTooLarge, message: "big", errorType: "request_too_large"))
                == ["write", "completed", "shutdown"])
        #expect(driver.responses[0].closesConnection)
    }

    @Test func routeLimitRaisesTheBufferedLimit() {
        let driver = ConnectionDriver {
            $0.configuration.limits.maxBodySize = 2
            $0.policies["/big"] = .buffered(maxSize: 10)
        }
        #expect(driver.receive(post("/big", "hello")) == ["handle POST /big [5 bytes]"])
    }

    @Test func streamingHandlerAnsweringBeforeTheBodyEndsClosesAfterItsResponse() {
        let driver = ConnectionDriver { $0.policies["/up"] = .streaming() }
        #expect(driver.receive("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc") == ["handle POST /up [stream]", "body abc"])
        #expect(driver.respond(.text("early")) == ["write", "completed", "shutdown"])
        #expect(driver.responses[0].body == "early")
        // The unread rest of the body is drained by the lingering close, never parsed as a request.
        #expect(driver.receive("defghij" + get("/x")) == [])
        #expect(driver.handled.count == 1)
        #expect(driver.tick(at: 500) == ["close"])
    }

    @Test func headersOverTheirLimitsAre431And414() {
        let limits = HTTPParserLimits(maxRequestLineSize: 64, maxHeadSize: 128, maxHeaderCount: 3)
        let cases: [(String, Int)] = [
            (get("/" + String(repeating: "a", count: 80)), 414),
            (get("/", "X-Big: " + String(repeating: "b", count: 200) + "\r\n"), 431),
            (get("/", "A: 1\r\nB: 2\r\nC: 3\r\n"), 431),
        ]
        for (request, status) in cases {
            let driver = ConnectionDriver { $0.configuration.limits = limits }
            #expect(driver.receive(request) == ["log \(status)", "write", "completed", "shutdown"])
            #expect(driver.responses.first?.status == status && driver.responses.first?.closesConnection == true)
        }
    }

    @Test(arguments: malformedRequests)
    func malformedRequestIsAnsweredWithItsStatusAndClosed(request: MalformedRequest) {
        let driver = ConnectionDriver()
        #expect(driver.receive(request.bytes) == ["log \(request.status)", "write", "completed", "shutdown"])
        #expect(driver.handled.isEmpty)
        #expect(driver.responses.first?.status == request.status && driver.responses.first?.closesConnection == true)
    }

    // MARK: - 100-continue

    @Test func bufferedBodyGets100ContinueWhenTheClientWaitsForIt() {
        let driver = ConnectionDriver()
        #expect(driver.receive("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n") == ["write"])
        #expect(driver.sentText == "HTTP/1.1 100 Continue\r\n\r\n")
        #expect(driver.receive("hello") == ["handle POST /echo [5 bytes]"])
        driver.respond(.text("ok"))
        #expect(driver.responses.map(\.status) == [100, 200])
    }

    @Test func noContinueWhenTheBodyCameWithTheHeadOrIsTooLarge() {
        let eager = ConnectionDriver()
        #expect(eager.receive(post("/echo", "hello", "Expect: 100-continue\r\n")) == ["handle POST /echo [5 bytes]"])
        #expect(eager.sent.isEmpty)

        let large = ConnectionDriver { $0.configuration.limits.maxBodySize = 3 }
        #expect(large.receive("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
                == ["log 413", "write", "completed", "shutdown"])
        #expect(large.responses.map(\.status) == [413])
    }

    @Test func streamedBodyGets100ContinueWhenTheHandlerStartsReading() {
        let driver = ConnectionDriver { $0.policies["/up"] = .streaming() }
        #expect(driver.receive("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n") == ["handle POST /up [stream]"])
        #expect(driver.sent.isEmpty)
        #expect(driver.consumerDemands() == ["write"])
        #expect(driver.consumerDemands() == [])  // once
        #expect(driver.receive("hello") == ["body hello", "body end"])
        #expect(driver.respond(.text("ok")) == ["write", "completed"])
        #expect(driver.responses.map(\.status) == [100, 200])
    }

    @Test func handlerAnsweringWithoutReadingCancelsTheOwed100() {
        let driver = ConnectionDriver { $0.policies["/up"] = .streaming() }
        driver.receive("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        #expect(driver.respond(.text("no")) == ["write", "completed", "shutdown"])
        #expect(driver.consumerDemands() == [])
        #expect(driver.responses.map(\.status) == [200])
    }

    // MARK: - Writing

    @Test func partialWritesContinueFromWhereTheyStopped() {
        let driver = ConnectionDriver()
        driver.socketRoom = 5
        driver.receive(get("/a", "X-Request-Id: a\r\n"))
        #expect(driver.respond(.text("A")) == ["write", "write blocked"])
        #expect(driver.sent.count == 5 && driver.unsentCount == Self.okA.utf8.count - 5)
        #expect(driver.socketDrains(room: 10) == ["write", "write blocked"])
        #expect(driver.sent.count == 15)
        #expect(driver.socketDrains() == ["write", "completed"])
        #expect(driver.sentText == Self.okA)
    }

    @Test func largeBodyIsWrittenFromItsOwnArray() {
        let driver = ConnectionDriver()
        let body = [UInt8](repeating: 65, count: 40_000)
        driver.receive(get("/big"))
        #expect(driver.respond(HTTPResponse(body: .bytes(body))) == ["write", "completed"])
        #expect(driver.responses[0].body.utf8.count == 40_000)
    }

    @Test func headResponseHasNoBodyAndRunsNoProducer() {
        let driver = ConnectionDriver()
        driver.receive("HEAD /s HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(driver.respond(.stream(contentType: "text/plain") { _ in }) == ["write", "completed"])
        #expect(driver.sentText.hasSuffix("Transfer-Encoding: chunked\r\n\r\n"))
    }

    // MARK: - Streamed responses

    @Test func streamedResponseIsChunkedAndEndsWithTheLastChunk() {
        let driver = ConnectionDriver()
        driver.receive(get("/s"))
        #expect(driver.respond(.stream(contentType: "text/plain") { _ in }) == ["produce", "write"])
        #expect(driver.produce("abc") == ["write", "resume writer"])
        #expect(driver.produce("de") == ["write", "resume writer"])
        #expect(driver.producerEnds() == ["write", "completed"])
        #expect(driver.responses[0].headers["transfer-encoding"] == "chunked" && driver.responses[0].body == "abcde")
        #expect(driver.sentText.hasSuffix("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"))
    }

    @Test func writerWaitsWhileTheUnsentBytesAreAboveTheHighWaterMark() {
        let driver = ConnectionDriver { $0.configuration.responseHighWaterMark = 8 }
        driver.receive(get("/s"))
        driver.respond(.stream(contentType: "text/plain") { _ in })
        driver.socketRoom = 0
        // 7 bytes framed: under the mark, the writer goes on although nothing was sent.
        #expect(driver.produce("ab") == ["write blocked", "resume writer"])
        // 22 bytes unsent: it waits until the socket has taken them all.
        #expect(driver.produce("0123456789") == ["write blocked"])
        #expect(driver.socketDrains(room: 10) == ["write", "write blocked"])
        #expect(driver.socketDrains() == ["write", "resume writer"])
        #expect(driver.producerEnds() == ["write", "completed"])
        #expect(driver.responses[0].body == "ab0123456789")
    }

    @Test func streamedBodyMustMatchItsDeclaredLength() {
        let long = ConnectionDriver()
        long.receive(get("/s"))
        long.respond(.stream(contentType: "text/plain", headers: ["Content-Length": "3"]) { _ in })
        #expect(long.produce("abcd") == ["fail writer 500", "log body too long", "close, tell handler"])

        let short = ConnectionDriver()
        short.receive(get("/s"))
        short.respond(.stream(contentType: "text/plain", headers: ["Content-Length": "3"]) { _ in })
        #expect(short.produce("ab") == ["write", "resume writer"])
        #expect(short.producerEnds() == ["log body too short", "close, tell handler"])

        let exact = ConnectionDriver()
        exact.receive(get("/s"))
        exact.respond(.stream(contentType: "text/plain", headers: ["Content-Length": "3"]) { _ in })
        exact.produce("abc")
        #expect(exact.producerEnds() == ["completed"])
        #expect(exact.responses[0].body == "abc" && exact.responses[0].headers["content-length"] == "3")
    }

    @Test func failedProducerTruncatesTheBodyByClosing() {
        struct Broken: Error {}
        let driver = ConnectionDriver()
        driver.receive(get("/s"))
        driver.respond(.stream(contentType: "text/plain") { _ in })
        driver.produce("abc")
        #expect(driver.producerEnds(throwing: Broken()) == ["log stream failed", "close, tell handler"])
        #expect(!driver.sentText.hasSuffix("0\r\n\r\n"))
    }

    @Test func http10StreamedBodyEndsWithTheConnection() {
        let driver = ConnectionDriver()
        driver.receive("GET /s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        driver.respond(.stream(contentType: "text/plain") { _ in })
        #expect(driver.produce("abc") == ["write", "resume writer"])
        #expect(driver.producerEnds() == ["completed", "shutdown"])
        #expect(driver.responses[0].closesConnection && driver.responses[0].body == "abc")
    }

    // MARK: - Draining

    @Test func drainClosesAnIdleConnectionAndEndsKeepAliveOnABusyOne() {
        let idle = ConnectionDriver()
        #expect(idle.beginDrain() == ["close"])

        let busy = ConnectionDriver()
        busy.receive(get("/a"))
        #expect(busy.beginDrain() == [])
        #expect(busy.respond(.text("A")) == ["write", "completed", "shutdown"])
        #expect(busy.responses[0].closesConnection)

        let partial = ConnectionDriver()
        partial.receive("GET /a HTTP/1.1\r\n")
        #expect(partial.beginDrain() == [])
        #expect(partial.receive("Host: t\r\n\r\n") == ["log 503", "write", "completed", "shutdown"])
    }

    @Test func requestArrivingWhileDrainingGets503() {
        let driver = ConnectionDriver { $0.isDraining = true }
        #expect(driver.receive(post("/echo", "hello")) == ["log 503", "write", "completed", "shutdown"])
        #expect(driver.handled.isEmpty && driver.responses[0].status == 503)
    }
}
