/// An HTTP/1.1 request parser: a pure state machine over bytes, with explicit limits and no I/O,
/// so every rule is testable without sockets (RFC 9112).
///
/// The caller keeps the unconsumed input and calls `parse(_:)` with it; each call returns one event
/// and how many leading bytes it consumed. The head, a chunk-size line and the trailers are only
/// consumed once complete, so the caller must keep unconsumed bytes (and append new ones after them).
/// Body bytes are returned as a range of the buffer passed in, never copied.
///
/// Events for one request: `.head`, then zero or more `.body`, then `.end`; then the next request's
/// `.head` (pipelining). `.failure` is terminal: answer with `error.status` and close.
public struct HTTPRequestParser: Sendable {
    /// What one call to `parse(_:)` found.
    public enum Event: Sendable, Equatable {
        /// A complete, validated head.
        case head(HTTPRequestHead)
        /// Body bytes: this range of the buffer passed in.
        case body(Range<Int>)
        /// The request is complete; trailers of a chunked body (empty otherwise).
        case end(trailers: HTTPHeaders)
        /// More input is needed.
        case needMoreData
        /// The request is malformed or over a limit; the parser stays failed.
        case failure(HTTPParseError)

        public static func == (lhs: Event, rhs: Event) -> Bool {
            switch (lhs, rhs) {
            case (.head(let a), .head(let b)): a.method == b.method && a.target == b.target && a.headers == b.headers
            case (.body(let a), .body(let b)): a == b
            case (.end(let a), .end(let b)): a == b
            case (.needMoreData, .needMoreData): true
            case (.failure(let a), .failure(let b)): a == b
            default: false
            }
        }
    }

    private enum State: Sendable {
        case head
        case noBody
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed(HTTPParseError)
    }

    /// The limits in force.
    public let limits: HTTPParserLimits
    /// The body limit for the current request: `limits.maxBodySize` after each head, adjustable by
    /// the caller (a route that accepts larger uploads) before the body is parsed.
    public var bodyLimit: Int

    private var state: State = .head
    /// Bytes of the unconsumed input already scanned for a line end (so a head arriving a byte at a
    /// time is scanned once, not quadratically).
    private var scanned = 0
    /// Start of the current line within the unconsumed input, and how many lines are complete.
    private var lineStart = 0
    private var completeLines = 0
    /// Body bytes of the current request so far (for the chunked limit).
    private var bodyReceived = 0

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
        self.bodyLimit = limits.maxBodySize
    }

    /// Whether the parser is between requests with nothing of the next one seen.
    public var isAtMessageBoundary: Bool {
        if case .head = state { return scanned == 0 }
        return false
    }

    /// Whether the parser is inside a request's body (after `.head`, before `.end`).
    public var isInBody: Bool {
        switch state {
        case .noBody, .fixedBody, .chunkSize, .chunkData, .chunkDataEnd, .trailers: true
        default: false
        }
    }

    /// Parses the start of `buffer` (the unconsumed input) and returns one event and the number of
    /// bytes consumed.
    public mutating func parse(_ buffer: UnsafeRawBufferPointer) -> (event: Event, consumed: Int) {
        switch state {
        case .failed(let error):
            return (.failure(error), 0)
        case .head:
            return parseHead(buffer)
        case .noBody:
            state = .head
            return (.end(trailers: HTTPHeaders()), 0)
        case .fixedBody(let remaining):
            if remaining > bodyLimit { return fail(.bodyTooLarge(limit: bodyLimit)) }
            if remaining == 0 {
                state = .head
                return (.end(trailers: HTTPHeaders()), 0)
            }
            guard !buffer.isEmpty else { return (.needMoreData, 0) }
            let count = min(remaining, buffer.count)
            state = remaining == count ? .noBody : .fixedBody(remaining: remaining - count)
            bodyReceived += count
            return (.body(0..<count), count)
        case .chunkSize:
            return parseChunkSize(buffer)
        case .chunkData(let remaining):
            guard !buffer.isEmpty else { return (.needMoreData, 0) }
            let count = min(remaining, buffer.count)
            state = remaining == count ? .chunkDataEnd : .chunkData(remaining: remaining - count)
            return (.body(0..<count), count)
        case .chunkDataEnd:
            guard let first = buffer.first else { return (.needMoreData, 0) }
            if first == UInt8(ascii: "\n") {
                state = .chunkSize
                return (.needMoreData, 1)
            }
            guard first == UInt8(ascii: "\r") else { return fail(.invalidChunk("chunk data not followed by CRLF")) }
            guard buffer.count >= 2 else { return (.needMoreData, 0) }
            guard buffer[1] == UInt8(ascii: "\n") else { return fail(.invalidChunk("chunk data not followed by CRLF")) }
            state = .chunkSize
            return (.needMoreData, 2)
        case .trailers:
            return parseTrailers(buffer)
        }
    }

    // MARK: - Head

    private mutating func parseHead(_ buffer: UnsafeRawBufferPointer) -> (event: Event, consumed: Int) {
        // RFC 9112 §2.2: ignore empty lines before the request line (robustness after a body's CRLF).
        if scanned == 0 {
            var skip = 0
            while skip < buffer.count {
                if buffer[skip] == UInt8(ascii: "\n") { skip += 1 }
                else if buffer[skip] == UInt8(ascii: "\r"), skip + 1 < buffer.count, buffer[skip + 1] == UInt8(ascii: "\n") { skip += 2 }
                else { break }
            }
            if skip > 0 { return (.needMoreData, skip) }
            // A lone CR may be the first half of a leading empty line: wait for its LF.
            if buffer.count == 1 && buffer[0] == UInt8(ascii: "\r") { return (.needMoreData, 0) }
        }
        switch scanSection(buffer, sizeLimit: limits.maxHeadSize, requestLineLimit: limits.maxRequestLineSize) {
        case .incomplete:
            return (.needMoreData, 0)
        case .failed(let error):
            return fail(error)
        case .complete(let end):
            let headBytes = UnsafeRawBufferPointer(rebasing: buffer[0..<end])
            resetScan()
            switch Self.makeHead(headBytes, limits: limits) {
            case .success(let head):
                bodyLimit = limits.maxBodySize
                bodyReceived = 0
                switch head.bodyFraming {
                case .none: state = .noBody
                case .contentLength(let length): state = .fixedBody(remaining: length)
                case .chunked: state = .chunkSize
                }
                return (.head(head), end)
            case .failure(let error):
                return fail(error)
            }
        }
    }

    private enum ScanResult {
        case incomplete
        case complete(end: Int)
        case failed(HTTPParseError)
    }

    /// Scans for the empty line ending a header (or trailer) section, enforcing the size and count
    /// limits as bytes arrive rather than after the whole section is buffered.
    private mutating func scanSection(_ buffer: UnsafeRawBufferPointer, sizeLimit: Int, requestLineLimit: Int?) -> ScanResult {
        let count = buffer.count
        guard let base = buffer.baseAddress, count > scanned else {
            return checkIncompleteLimits(scannedCount: count, sizeLimit: sizeLimit, requestLineLimit: requestLineLimit)
        }
        var position = scanned
        while position < count {
            guard let found = memchr(base + position, Int32(UInt8(ascii: "\n")), count - position) else {
                position = count
                break
            }
            let newline = base.distance(to: UnsafeRawPointer(found))
            var lineEnd = newline
            if lineEnd > lineStart, buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            if lineEnd == lineStart && (completeLines > 0 || requestLineLimit == nil) {
                return newline + 1 > sizeLimit ? .failed(sizeError(requestLineLimit)) : .complete(end: newline + 1)
            }
            if completeLines == 0, let requestLineLimit, lineEnd > requestLineLimit {
                return .failed(.requestLineTooLong(limit: requestLineLimit))
            }
            // Size before count: the byte past the size limit comes before this line's end, and
            // a head that arrives in pieces is failed on that byte (`checkIncompleteLimits`), so the
            // error must not depend on how the bytes were split (found by fuzzing).
            if newline + 1 > sizeLimit { return .failed(sizeError(requestLineLimit)) }
            completeLines += 1
            // The request line is not a field: count only header lines against the field limit.
            let fields = requestLineLimit == nil ? completeLines : completeLines - 1
            if fields > limits.maxHeaderCount { return .failed(.tooManyHeaders(limit: limits.maxHeaderCount)) }
            lineStart = newline + 1
            position = newline + 1
        }
        scanned = position
        return checkIncompleteLimits(scannedCount: count, sizeLimit: sizeLimit, requestLineLimit: requestLineLimit)
    }

    private func checkIncompleteLimits(scannedCount: Int, sizeLimit: Int, requestLineLimit: Int?) -> ScanResult {
        if completeLines == 0, let requestLineLimit, scannedCount - lineStart > requestLineLimit + 1 {
            return .failed(.requestLineTooLong(limit: requestLineLimit))
        }
        if scannedCount > sizeLimit { return .failed(sizeError(requestLineLimit)) }
        return .incomplete
    }

    private func sizeError(_ requestLineLimit: Int?) -> HTTPParseError {
        .headTooLarge(limit: limits.maxHeadSize)
    }

    private mutating func resetScan() {
        scanned = 0
        lineStart = 0
        completeLines = 0
    }

    private mutating func fail(_ error: HTTPParseError) -> (event: Event, consumed: Int) {
        state = .failed(error)
        return (.failure(error), 0)
    }

    // MARK: - Chunked body

    private mutating func parseChunkSize(_ buffer: UnsafeRawBufferPointer) -> (event: Event, consumed: Int) {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return (.needMoreData, 0) }
        guard let found = memchr(base, Int32(UInt8(ascii: "\n")), buffer.count) else {
            if buffer.count > limits.maxChunkLineSize { return fail(.invalidChunk("chunk-size line longer than \(limits.maxChunkLineSize) bytes")) }
            return (.needMoreData, 0)
        }
        let newline = base.distance(to: UnsafeRawPointer(found))
        if newline > limits.maxChunkLineSize { return fail(.invalidChunk("chunk-size line longer than \(limits.maxChunkLineSize) bytes")) }
        var lineEnd = newline
        if lineEnd > 0, buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
        var size = 0
        var index = 0
        while index < lineEnd, let digit = hexValue(buffer[index]) {
            guard index < 15 else { return fail(.invalidChunk("chunk size too large")) }
            size = size << 4 | Int(digit)
            index += 1
        }
        guard index > 0 else { return fail(.invalidChunk("missing chunk size")) }
        // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] ): accepted and ignored,
        // but it must start with ';' and contain no control characters.
        var rest = index
        while rest < lineEnd, buffer[rest] == UInt8(ascii: " ") || buffer[rest] == UInt8(ascii: "\t") { rest += 1 }
        if rest < lineEnd {
            guard buffer[rest] == UInt8(ascii: ";") else { return fail(.invalidChunk("unexpected character after chunk size")) }
            for i in rest..<lineEnd where Self.isControl(buffer[i]) {
                return fail(.invalidChunk("control character in chunk extension"))
            }
        }
        if size == 0 {
            state = .trailers
            return (.needMoreData, newline + 1)
        }
        bodyReceived += size
        if bodyReceived > bodyLimit { return fail(.bodyTooLarge(limit: bodyLimit)) }
        state = .chunkData(remaining: size)
        return (.needMoreData, newline + 1)
    }

    private mutating func parseTrailers(_ buffer: UnsafeRawBufferPointer) -> (event: Event, consumed: Int) {
        switch scanSection(buffer, sizeLimit: limits.maxHeadSize, requestLineLimit: nil) {
        case .incomplete:
            return (.needMoreData, 0)
        case .failed(let error):
            return fail(error)
        case .complete(let end):
            resetScan()
            var trailers = HTTPHeaders()
            var lines = Self.lines(UnsafeRawBufferPointer(rebasing: buffer[0..<end]))
            lines.removeLast()  // the empty line
            for line in lines {
                switch Self.parseField(line) {
                case .success(let field): trailers.add(name: field.name, value: field.value)
                case .failure(let error): return fail(error)
                }
            }
            state = .head
            return (.end(trailers: trailers), end)
        }
    }

    // MARK: - Head validation

    /// Validates a complete head (request line, fields, the terminating empty line) and derives the
    /// framing and connection semantics.
    static func makeHead(_ bytes: UnsafeRawBufferPointer, limits: HTTPParserLimits) -> Result<HTTPRequestHead, HTTPParseError> {
        let lines = lines(bytes)
        guard let requestLine = lines.first else { return .failure(.invalidRequestLine("empty")) }
        let method: HTTPMethod, target: String, version: HTTPVersion
        switch parseRequestLine(requestLine) {
        case .success(let parts): (method, target, version) = parts
        case .failure(let error): return .failure(error)
        }

        var headers = HTTPHeaders(capacity: lines.count - 2)
        for line in lines.dropFirst().dropLast() {
            switch parseField(line) {
            case .success(let field): headers.add(name: field.name, value: field.value)
            case .failure(let error): return .failure(error)
            }
        }

        let rawPath: String, query: String?, path: String
        let targetBytes = targetRange(of: requestLine)
        if let first = targetBytes.first, first == UInt8(ascii: "/") {
            // Origin-form, the common case: split and check on the bytes, decode only when needed.
            var questionMark: Int?
            var hasPercent = false
            for index in targetBytes.indices {
                let byte = targetBytes[index]
                if byte == UInt8(ascii: "#") { return .failure(.invalidTarget("a fragment ('#') is not allowed")) }
                if byte == UInt8(ascii: "?") && questionMark == nil { questionMark = index }
                if byte == UInt8(ascii: "%") && questionMark == nil { hasPercent = true }
            }
            let pathEnd = questionMark ?? targetBytes.endIndex
            rawPath = String(decoding: UnsafeRawBufferPointer(rebasing: targetBytes[targetBytes.startIndex..<pathEnd]), as: UTF8.self)
            if let questionMark {
                let queryBytes = UnsafeRawBufferPointer(rebasing: targetBytes[(questionMark + 1)...])
                if !hasWellFormedEscapes(queryBytes) { return .failure(.invalidTarget("malformed percent-escape in query")) }
                query = String(decoding: queryBytes, as: UTF8.self)
            } else {
                query = nil
            }
            if hasPercent {
                do { path = try percentDecoded(rawPath, plusIsSpace: false) } catch {
                    return .failure(.invalidTarget(error == .malformedEscape ? "malformed percent-escape in path" : "path decodes to invalid UTF-8 or NUL"))
                }
            } else {
                path = rawPath
            }
        } else {
            switch splitTarget(target, method: method) {
            case .success(let parts): (rawPath, query) = parts
            case .failure(let error): return .failure(error)
            }
            if target.utf8.contains(UInt8(ascii: "#")) { return .failure(.invalidTarget("a fragment ('#') is not allowed")) }
            do { path = try percentDecoded(rawPath, plusIsSpace: false) } catch {
                return .failure(.invalidTarget(error == .malformedEscape ? "malformed percent-escape in path" : "path decodes to invalid UTF-8 or NUL"))
            }
            if let query {
                let wellFormed = Array(query.utf8).withUnsafeBytes { hasWellFormedEscapes($0) }
                if !wellFormed { return .failure(.invalidTarget("malformed percent-escape in query")) }
            }
        }
        switch semantics(headers: headers, version: version) {
        case .success(let (framing, keepAlive, expectsContinue)):
            return .success(HTTPRequestHead(method: method, target: target, rawPath: rawPath, path: path, query: query,
                                            version: version, headers: headers, bodyFraming: framing,
                                            keepAlive: keepAlive, expectsContinue: expectsContinue))
        case .failure(let error):
            return .failure(error)
        }
    }

    /// Splits a request target into its (still encoded) path and query: origin-form (`/p?q`),
    /// absolute-form (`http://host/p?q`, RFC 9112 §3.2.2), or `*` for OPTIONS.
    private static func splitTarget(_ target: String, method: HTTPMethod) -> Result<(String, String?), HTTPParseError> {
        if target.utf8.first == UInt8(ascii: "/") { return .success(splitQuery(target)) }
        if target == "*" {
            guard method == .options else { return .failure(.invalidTarget("'*' is only valid for OPTIONS")) }
            return .success(("*", nil))
        }
        guard let schemeEnd = target.firstRange(of: "://"), ["http", "https"].contains(target[..<schemeEnd.lowerBound].lowercased()) else {
            return .failure(.invalidTarget("expected '/path', 'http://host/path' or '*'"))
        }
        let afterScheme = target[schemeEnd.upperBound...]
        guard let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) else {
            return afterScheme.isEmpty ? .failure(.invalidTarget("absolute-form without a host")) : .success(("/", nil))
        }
        guard authorityEnd > afterScheme.startIndex else { return .failure(.invalidTarget("absolute-form without a host")) }
        let pathAndQuery = String(afterScheme[authorityEnd...])
        return .success(splitQuery(pathAndQuery.hasPrefix("?") ? "/" + pathAndQuery : pathAndQuery))
    }

    private static func splitQuery(_ target: String) -> (String, String?) {
        guard let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (target, nil) }
        return (String(target[..<mark]), String(target[target.utf8.index(after: mark)...]))
    }

    /// The bytes of the request target in an already validated request line.
    private static func targetRange(of line: UnsafeRawBufferPointer) -> Slice<UnsafeRawBufferPointer> {
        let firstSpace = line.firstIndex(of: UInt8(ascii: " "))!
        let secondSpace = line[(firstSpace + 1)...].firstIndex(of: UInt8(ascii: " "))!
        return line[(firstSpace + 1)..<secondSpace]
    }

    /// `method SP request-target SP HTTP-version`, single spaces, nothing else.
    private static func parseRequestLine(_ line: UnsafeRawBufferPointer) -> Result<(HTTPMethod, String, HTTPVersion), HTTPParseError> {
        guard let firstSpace = line.firstIndex(of: UInt8(ascii: " ")) else {
            return .failure(.invalidRequestLine("expected 'METHOD /target HTTP/1.1'"))
        }
        guard firstSpace > 0 else { return .failure(.invalidRequestLine("missing method")) }
        for i in 0..<firstSpace where !isTokenCharacter(line[i]) {
            return .failure(.invalidRequestLine("invalid character in method"))
        }
        guard let secondSpace = line[(firstSpace + 1)...].firstIndex(of: UInt8(ascii: " ")) else {
            return .failure(.invalidRequestLine("missing HTTP version"))
        }
        guard secondSpace > firstSpace + 1 else { return .failure(.invalidRequestLine("missing request target or extra space")) }
        for i in (firstSpace + 1)..<secondSpace where !(0x21...0x7E).contains(line[i]) {
            return .failure(.invalidRequestLine("invalid character in request target"))
        }
        let versionBytes = UnsafeRawBufferPointer(rebasing: line[(secondSpace + 1)...])
        // HTTP-version = "HTTP/" DIGIT "." DIGIT (case-sensitive).
        guard versionBytes.count == 8, versionBytes.starts(with: "HTTP/".utf8),
              let major = decimalDigit(versionBytes[5]), versionBytes[6] == UInt8(ascii: "."),
              let minor = decimalDigit(versionBytes[7]) else {
            return .failure(.invalidRequestLine("malformed HTTP version"))
        }
        guard major == 1, minor <= 1 else {
            return .failure(.unsupportedVersion(String(decoding: versionBytes, as: UTF8.self)))
        }
        let method = HTTPMethod(String(decoding: UnsafeRawBufferPointer(rebasing: line[..<firstSpace]), as: UTF8.self))
        let target = String(decoding: UnsafeRawBufferPointer(rebasing: line[(firstSpace + 1)..<secondSpace]), as: UTF8.self)
        return .success((method, target, HTTPVersion(major: major, minor: minor)))
    }

    /// `field-name ":" OWS field-value OWS`; no whitespace before the colon, no obs-fold, no controls.
    static func parseField(_ line: UnsafeRawBufferPointer) -> Result<HTTPHeaders.Field, HTTPParseError> {
        guard let first = line.first else { return .failure(.invalidHeader("empty line")) }
        if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { return .failure(.obsoleteLineFolding) }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            return .failure(.invalidHeader("missing ':' in '\(printable(line))'"))
        }
        guard colon > 0 else { return .failure(.invalidHeader("empty field name")) }
        for i in 0..<colon where !isTokenCharacter(line[i]) {
            return .failure(.invalidHeader("invalid character in field name '\(printable(UnsafeRawBufferPointer(rebasing: line[..<colon])))'"))
        }
        var start = colon + 1, end = line.count
        while start < end, line[start] == UInt8(ascii: " ") || line[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, line[end - 1] == UInt8(ascii: " ") || line[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        for i in start..<end where isControl(line[i]) {
            return .failure(.invalidHeader("control character in the value of '\(printable(UnsafeRawBufferPointer(rebasing: line[..<colon])))'"))
        }
        return .success(HTTPHeaders.Field(
            name: String(decoding: UnsafeRawBufferPointer(rebasing: line[..<colon]), as: UTF8.self),
            value: String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<end]), as: UTF8.self)))
    }

    /// Framing, persistence and expectation from the validated fields (RFC 9112 §6, §9.3; RFC 9110 §10.1.1).
    private static func semantics(headers: HTTPHeaders, version: HTTPVersion)
        -> Result<(HTTPRequestHead.BodyFraming, Bool, Bool), HTTPParseError> {
        var hostCount = 0, hasTransferEncoding = false, hasContentLength = false, hasConnection = false, hasExpect = false
        for field in headers {
            // Cheap first-letter dispatch: most requests carry a handful of common fields.
            switch asciiLower(field.name.utf8.first ?? 0) {
            case UInt8(ascii: "h"): if HTTPHeaders.namesEqual(field.name, "host") { hostCount += 1 }
            case UInt8(ascii: "t"): if HTTPHeaders.namesEqual(field.name, "transfer-encoding") { hasTransferEncoding = true }
            case UInt8(ascii: "c"):
                if HTTPHeaders.namesEqual(field.name, "content-length") { hasContentLength = true }
                else if HTTPHeaders.namesEqual(field.name, "connection") { hasConnection = true }
            case UInt8(ascii: "e"): if HTTPHeaders.namesEqual(field.name, "expect") { hasExpect = true }
            default: break
            }
        }
        if version == .http1_1 && hostCount != 1 {
            return .failure(.invalidHost(hostCount == 0 ? "HTTP/1.1 requires a Host header" : "more than one Host header"))
        }
        if hostCount > 1 { return .failure(.invalidHost("more than one Host header")) }

        var framing = HTTPRequestHead.BodyFraming.none
        if hasTransferEncoding {
            if hasContentLength { return .failure(.conflictingFraming) }
            let value = headers.values(for: "transfer-encoding").joined(separator: ", ")
            if version == .http1_0 { return .failure(.invalidTransferEncoding(value)) }
            let codings = headers.commaSeparatedValues(for: "transfer-encoding")
            if let unknown = codings.first(where: { !$0.equalsCaseInsensitive("chunked") }) {
                return .failure(.unsupportedTransferCoding(unknown))
            }
            guard codings.count == 1 else { return .failure(.invalidTransferEncoding(value)) }
            framing = .chunked
        } else if hasContentLength {
            var length: Int?
            for value in headers.values(for: "content-length") {
                // Repeated identical values ("5, 5") are tolerated (RFC 9110 §8.6); anything else is not.
                for element in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let trimmed = element.trimmingASCIIWhitespace()
                    guard !trimmed.isEmpty, trimmed.utf8.count <= 18, trimmed.utf8.allSatisfy({ decimalDigit($0) != nil }),
                          let parsed = Int(trimmed), length == nil || length == parsed else {
                        return .failure(.invalidContentLength(value))
                    }
                    length = parsed
                }
            }
            if let length, length > 0 { framing = .contentLength(length) }
        }

        var keepAlive = version == .http1_1
        if hasConnection {
            for option in headers.commaSeparatedValues(for: "connection") {
                if option.equalsCaseInsensitive("close") { keepAlive = false; break }
                if option.equalsCaseInsensitive("keep-alive") && version == .http1_0 { keepAlive = true }
            }
        }

        var expectsContinue = false
        if hasExpect {
            let value = headers.values(for: "expect").joined(separator: ", ")
            guard value.trimmingASCIIWhitespace().equalsCaseInsensitive("100-continue") else {
                return .failure(.unsupportedExpectation(value))
            }
            // An HTTP/1.0 client cannot understand 100 (RFC 9110 §10.1.1): ignore it there.
            expectsContinue = version == .http1_1
        }
        return .success((framing, keepAlive, expectsContinue))
    }

    // MARK: - Bytes

    /// The lines of a complete section, without their CRLF or LF; the last element is the empty line.
    private static func lines(_ bytes: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
        var lines: [UnsafeRawBufferPointer] = []
        lines.reserveCapacity(16)
        var start = 0
        for i in 0..<bytes.count where bytes[i] == UInt8(ascii: "\n") {
            var end = i
            if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            lines.append(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            start = i + 1
        }
        return lines
    }

    /// tchar (RFC 9110 §5.6.2).
    @inline(__always)
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    /// Control characters other than HTAB (including a bare CR, NUL and DEL) are never valid in a field value.
    @inline(__always)
    static func isControl(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F
    }

    @inline(__always)
    private static func decimalDigit(_ byte: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
    }

    /// A short printable excerpt for error messages.
    private static func printable(_ bytes: UnsafeRawBufferPointer) -> String {
        String(bytes.prefix(64).map { (0x20...0x7E).contains($0) ? Character(UnicodeScalar($0)) : "?" })
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
