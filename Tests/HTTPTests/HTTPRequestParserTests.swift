import Testing
@testable import HTTP

/// A request as the parser delivered it.
struct ParsedRequest {
    var head: HTTPRequestHead
    var body: [UInt8] = []
    var trailers = HTTPHeaders()
}

/// Feeds `bytes` to a parser in pieces of `pieceSize` (the whole at once when nil), keeping the
/// unconsumed bytes like a connection does, and collects the complete requests and the error, if any.
func parseRequests(_ bytes: [UInt8], limits: HTTPParserLimits = HTTPParserLimits(), pieceSize: Int? = nil)
    -> (requests: [ParsedRequest], error: HTTPParseError?) {
    var parser = HTTPRequestParser(limits: limits)
    var buffer: [UInt8] = []
    var requests: [ParsedRequest] = []
    var current: ParsedRequest?
    var offset = 0
    let step = pieceSize ?? max(bytes.count, 1)
    while offset < bytes.count || offset == 0 {
        let end = min(offset + step, bytes.count)
        buffer += bytes[offset..<end]
        offset = max(end, 1)
        while true {
            let (event, consumed) = buffer.withUnsafeBytes { parser.parse($0) }
            var consumedBody: [UInt8] = []
            if case .body(let range) = event { consumedBody = Array(buffer[range]) }
            buffer.removeFirst(consumed)
            switch event {
            case .head(let head): current = ParsedRequest(head: head)
            case .body: current?.body += consumedBody
            case .end(let trailers):
                current?.trailers = trailers
                if let current { requests.append(current) }
                current = nil
            case .failure(let error): return (requests, error)
            case .needMoreData: if consumed == 0 { break } else { continue }
            }
            if case .needMoreData = event { break }
        }
        if end >= bytes.count { break }
    }
    return (requests, nil)
}

func parseRequests(_ text: String, limits: HTTPParserLimits = HTTPParserLimits(), pieceSize: Int? = nil)
    -> (requests: [ParsedRequest], error: HTTPParseError?) {
    parseRequests(Array(text.utf8), limits: limits, pieceSize: pieceSize)
}

@Suite struct HTTPRequestParserTests {
    // MARK: - Request line

    @Test(arguments: [nil, 1, 3, 7] as [Int?])
    func requestLineAndHeaders(pieceSize: Int?) throws {
        let (requests, error) = parseRequests("GET /v1/models?limit=5 HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n", pieceSize: pieceSize)
        #expect(error == nil)
        let head = try #require(requests.first?.head)
        #expect(requests.count == 1)
        #expect(head.method == .get)
        #expect(head.target == "/v1/models?limit=5")
        #expect(head.path == "/v1/models")
        #expect(head.query == "limit=5")
        #expect(head.version == .http1_1)
        #expect(head.headers["accept"] == "*/*")
        #expect(head.bodyFraming == .none)
        #expect(head.keepAlive)
    }

    @Test func anyTokenIsAMethod() throws {
        let (requests, error) = parseRequests("PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(error == nil)
        #expect(requests.first?.head.method == HTTPMethod("PURGE"))
    }

    @Test func leadingEmptyLinesAreIgnored() {
        let (requests, error) = parseRequests("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", pieceSize: 1)
        #expect(error == nil)
        #expect(requests.count == 1)
    }

    @Test func bareLineFeedsAreAccepted() {
        let (requests, error) = parseRequests("GET / HTTP/1.1\nHost: a\nX-A: 1\n\n")
        #expect(error == nil)
        #expect(requests.first?.head.headers["x-a"] == "1")
    }

    @Test(arguments: ["HTTP/2.0", "HTTP/0.9", "HTTP/3.0"])
    func otherVersionsAre505(version: String) {
        let (_, error) = parseRequests("GET / \(version)\r\nHost: a\r\n\r\n")
        #expect(error == .unsupportedVersion(version))
        #expect(error?.status.code == 505)
    }

    @Test func absoluteFormTargetYieldsItsPath() throws {
        let (requests, error) = parseRequests("GET http://example:8080/v2/models?x=1 HTTP/1.1\r\nHost: example:8080\r\n\r\n")
        #expect(error == nil)
        let head = try #require(requests.first?.head)
        #expect(head.path == "/v2/models")
        #expect(head.query == "x=1")
    }

    @Test func asteriskFormForOptions() throws {
        let (requests, error) = parseRequests("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(error == nil)
        #expect(requests.first?.head.path == "*")
    }

    // MARK: - Percent-decoding

    @Test func pathAndQueryArePercentDecoded() throws {
        let (requests, error) = parseRequests("GET /v1/models/caf%C3%A9%20net/x%2Fy?name=a%20b&q=c+d&flag HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(error == nil)
        let head = try #require(requests.first?.head)
        #expect(head.rawPath == "/v1/models/caf%C3%A9%20net/x%2Fy")
        #expect(head.path == "/v1/models/café net/x/y")
        #expect(head.query == "name=a%20b&q=c+d&flag")
        #expect(head.queryParameters == [QueryParameter(name: "name", value: "a b"), QueryParameter(name: "q", value: "c d"),
                                         QueryParameter(name: "flag", value: "")])
        #expect(head.queryValue(named: "q") == "c d")
        // `+` is a space only in the query.
        #expect(parseRequests("GET /a+b HTTP/1.1\r\nHost: a\r\n\r\n").requests.first?.head.path == "/a+b")
    }

    @Test(arguments: ["/a%zz", "/a%", "/a%2", "/a%00", "/%ff", "/?x=%g0"])
    func malformedEscapesAreRejected(target: String) {
        let (_, error) = parseRequests("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n")
        guard case .invalidTarget = error else {
            Issue.record("expected invalidTarget for \(target), got \(String(describing: error))")
            return
        }
    }

    // MARK: - Header fields

    @Test func headerNamesAreCaseInsensitiveAndRepeatsKept() throws {
        let (requests, error) = parseRequests(
            "GET / HTTP/1.1\r\nhOsT: a\r\nAccept: text/html\r\nX-Tag: one\r\nx-tag: two\r\nX-TAG:three  \r\n\r\n")
        #expect(error == nil)
        let headers = try #require(requests.first?.head.headers)
        #expect(headers["HOST"] == "a")
        #expect(headers["x-tag"] == "one")
        #expect(headers.values(for: "X-Tag") == ["one", "two", "three"])
        #expect(headers.count == 5)
        // Names keep their spelling; values lose surrounding whitespace.
        #expect(headers.fields[4].name == "X-TAG")
        #expect(headers.fields[4].value == "three")
    }

    @Test func obsoleteLineFoldingIsRejected() {
        let (_, error) = parseRequests("GET / HTTP/1.1\r\nHost: a\r\nX-Long: part one\r\n  part two\r\n\r\n")
        #expect(error == .obsoleteLineFolding)
        #expect(error?.status.code == 400)
    }

    @Test func hostIsRequiredOnceInHTTP11() {
        #expect(parseRequests("GET / HTTP/1.1\r\n\r\n").error?.status.code == 400)
        #expect(parseRequests("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").error?.status.code == 400)
        #expect(parseRequests("GET / HTTP/1.0\r\n\r\n").error == nil)
    }

    @Test func obsoleteTextInValuesIsKept() throws {
        let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf".utf8) + [0xC3, 0xA9] + Array("\r\n\r\n".utf8)
        let (requests, error) = parseRequests(bytes)
        #expect(error == nil)
        #expect(requests.first?.head.headers["x-name"] == "café")
    }

    // MARK: - Bodies

    @Test(arguments: [nil, 1, 5] as [Int?])
    func contentLengthBody(pieceSize: Int?) throws {
        let (requests, error) = parseRequests("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", pieceSize: pieceSize)
        #expect(error == nil)
        let request = try #require(requests.first)
        #expect(request.head.bodyFraming == .contentLength(11))
        #expect(request.body == Array("hello world".utf8))
    }

    @Test func repeatedIdenticalContentLengthIsAccepted() throws {
        let (requests, error) = parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc")
        #expect(error == nil)
        #expect(requests.first?.body == Array("abc".utf8))
    }

    @Test func zeroContentLengthHasNoBody() throws {
        let (requests, error) = parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        #expect(error == nil)
        #expect(requests.first?.head.bodyFraming == HTTPRequestHead.BodyFraming.none)
    }

    @Test(arguments: [nil, 1, 4] as [Int?])
    func chunkedBodyWithExtensionsAndTrailers(pieceSize: Int?) throws {
        let text = "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip-not, chunked\r\n\r\n"
        #expect(parseRequests(text).error == .unsupportedTransferCoding("gzip-not"))
        let chunked = "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n1 ; ext\r\n \r\nA\r\n0123456789\r\n0\r\nDigest: sha-256=abc\r\nX-Count: 3\r\n\r\n"
            + "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
        let (requests, error) = parseRequests(chunked, pieceSize: pieceSize)
        #expect(error == nil)
        try #require(requests.count == 2)
        #expect(requests[0].head.bodyFraming == .chunked)
        #expect(requests[0].body == Array("hello 0123456789".utf8))
        #expect(requests[0].trailers["digest"] == "sha-256=abc")
        #expect(requests[0].trailers["x-count"] == "3")
        #expect(requests[1].head.path == "/next")
    }

    @Test func contentLengthWithTransferEncodingIs400() {
        let (_, error) = parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(error == .conflictingFraming)
        #expect(error?.status.code == 400)
    }

    @Test func unknownTransferCodingIs501() {
        let (_, error) = parseRequests("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n")
        #expect(error?.status.code == 501)
    }

    // MARK: - Connection semantics

    @Test func expectContinue() throws {
        let head = try #require(parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\nabc").requests.first?.head)
        #expect(head.expectsContinue)
        // HTTP/1.0 clients cannot understand 100: the expectation is ignored.
        let old = try #require(parseRequests("POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc").requests.first?.head)
        #expect(!old.expectsContinue)
        #expect(parseRequests("POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n").error?.status.code == 417)
    }

    @Test(arguments: [
        ("HTTP/1.1", nil, true), ("HTTP/1.1", "close", false), ("HTTP/1.1", "keep-alive, Close", false),
        ("HTTP/1.1", "keep-alive", true), ("HTTP/1.0", nil, false), ("HTTP/1.0", "Keep-Alive", true), ("HTTP/1.0", "close", false),
    ] as [(String, String?, Bool)])
    func keepAlive(version: String, connection: String?, expected: Bool) throws {
        let field = connection.map { "Connection: \($0)\r\n" } ?? ""
        let head = try #require(parseRequests("GET / \(version)\r\nHost: a\r\n\(field)\r\n").requests.first?.head)
        #expect(head.keepAlive == expected)
    }

    @Test(arguments: [nil, 1, 9] as [Int?])
    func pipelinedRequestsComeOutInOrder(pieceSize: Int?) {
        let text = "GET /one HTTP/1.1\r\nHost: a\r\n\r\nPOST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
            + "GET /three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        let (requests, error) = parseRequests(text, pieceSize: pieceSize)
        #expect(error == nil)
        #expect(requests.map(\.head.path) == ["/one", "/two", "/three"])
        #expect(requests[1].body == Array("abc".utf8))
        #expect(requests.map(\.head.keepAlive) == [true, true, false])
    }

    // MARK: - Limits

    @Test func requestLineLimitIs414() {
        let limits = HTTPParserLimits(maxRequestLineSize: 64, maxHeadSize: 256)
        #expect(parseRequests("GET /\(String(repeating: "a", count: 50)) HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits).error == nil)
        // Detected before the line ends, so a client cannot make the server buffer an endless line.
        let (_, error) = parseRequests("GET /\(String(repeating: "a", count: 100))", limits: limits, pieceSize: 10)
        #expect(error == .requestLineTooLong(limit: 64))
        #expect(error?.status.code == 414)
    }

    @Test func headSizeLimitIs431() {
        let limits = HTTPParserLimits(maxRequestLineSize: 64, maxHeadSize: 128)
        let (_, error) = parseRequests("GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "b", count: 200))", limits: limits, pieceSize: 16)
        #expect(error == .headTooLarge(limit: 128))
        #expect(error?.status.code == 431)
    }

    @Test func headerCountLimitIs431() {
        let limits = HTTPParserLimits(maxHeaderCount: 4)
        let fields = (0..<4).map { "X-\($0): v\r\n" }.joined()
        #expect(parseRequests("GET / HTTP/1.1\r\n\(fields)\r\n", limits: limits).error?.status.code == 400)  // no Host, but 4 fields pass
        #expect(parseRequests("GET / HTTP/1.1\r\nHost: a\r\n\(fields)\r\n", limits: limits).error == .tooManyHeaders(limit: 4))
    }

    @Test func bodyLimitIs413ForBothFramings() {
        let limits = HTTPParserLimits(maxBodySize: 8)
        let fixed = parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n123456789", limits: limits)
        #expect(fixed.error == .bodyTooLarge(limit: 8))
        let chunked = parseRequests("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n4\r\n1234\r\n0\r\n\r\n", limits: limits)
        #expect(chunked.error == .bodyTooLarge(limit: 8))
        #expect(chunked.error?.status.code == 413)
        #expect(parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n12345678", limits: limits).error == nil)
    }

    @Test func bodyLimitCanBeRaisedPerRequest() {
        var parser = HTTPRequestParser(limits: HTTPParserLimits(maxBodySize: 4))
        let bytes = Array("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n123456".utf8)
        bytes.withUnsafeBytes { buffer in
            let (event, consumed) = parser.parse(buffer)
            guard case .head = event else { Issue.record("expected a head"); return }
            parser.bodyLimit = 100
            let (body, _) = parser.parse(UnsafeRawBufferPointer(rebasing: buffer[consumed...]))
            #expect(body == .body(0..<6))
        }
    }

    @Test func failureIsTerminal() {
        var parser = HTTPRequestParser()
        let bytes = Array("BAD\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        bytes.withUnsafeBytes { buffer in
            guard case .failure = parser.parse(buffer).event else { Issue.record("expected a failure"); return }
            guard case .failure = parser.parse(buffer).event else { Issue.record("the parser must stay failed"); return }
        }
    }

    // MARK: - Malformed corpus

    @Test(arguments: malformedRequests)
    func malformedRequestIsRejected(_ request: MalformedRequest) {
        let whole = parseRequests(request.bytes)
        #expect(whole.requests.isEmpty, "no request may be accepted from '\(request.name)'")
        #expect(whole.error?.status.code == request.status, "'\(request.name)': \(String(describing: whole.error))")
        // Arriving a byte at a time must not change the verdict.
        let trickled = parseRequests(request.bytes, pieceSize: 1)
        #expect(trickled.error?.status.code == request.status, "'\(request.name)' byte by byte: \(String(describing: trickled.error))")
    }

    // MARK: - Fuzzing regressions (scripts/fuzz http)

    /// A head over both the size and the field-count limit: the byte past the size limit comes
    /// first, so the error is `headTooLarge` however the bytes arrive. The fuzzer found the whole
    /// head answered `tooManyHeaders` but the same head in pieces `headTooLarge`.
    @Test(arguments: [nil, 1, 7, 64] as [Int?])
    func limitErrorDoesNotDependOnSegmentation(pieceSize: Int?) {
        let limits = HTTPParserLimits(maxRequestLineSize: 64, maxHeadSize: 256, maxHeaderCount: 8)
        let fields = (0..<7).map { "X-\($0): v\r\n" }.joined()
        let head = "GET / HTTP/1.1\r\nHost: a\r\n\(fields)X-Long: \(String(repeating: "b", count: 200))\r\n\r\n"
        #expect(parseRequests(head, limits: limits, pieceSize: pieceSize).error == .headTooLarge(limit: 256))
    }

    @Test func corpusHasAtLeastFiftyEntries() {
        #expect(malformedRequests.count >= 50)
        #expect(Set(malformedRequests.map(\.name)).count == malformedRequests.count)
        #expect(malformedRequests.allSatisfy { (400..<500).contains($0.status) })
    }
}
