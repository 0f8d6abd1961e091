// Fuzz target: `HTTPRequestParser` (Sources/HTTP), the first code every byte from a client reaches.
//
// Input layout: byte 0 holds options, bytes 0–1 seed the piece sizes, the rest is the byte stream
// of one connection (any number of pipelined requests). The stream is parsed twice, once in one
// piece and once in pieces of pseudo-random sizes (1 byte up to the whole), keeping unconsumed
// bytes the way `HTTPConnection` does, and both deliveries must agree. Besides memory errors
// (AddressSanitizer) and traps, a finding is any broken parser contract:
// - `consumed` never exceeds the bytes passed in; a body range lies inside them and is consumed;
// - events come as head, body*, end per request; a Content-Length body has exactly that length;
// - a failure is terminal (the next call repeats it and consumes nothing);
// - the parser always makes progress or asks for more data;
// - splitting the stream differently never changes the requests, bodies, trailers or the error.
// Each head then goes where the server sends it: the router (the service's route table, with
// percent-decoded path parameters), the query-parameter decoder and the request-id check.
import FuzzDriver
import HTTP

// MARK: - Options

/// How one input is run, from its first byte.
struct Options {
    /// Small limits, so the fuzzer reaches every limit check with short inputs.
    var smallLimits: Bool
    /// After each head, lower the body limit as a route policy may (`HTTPConnection` does this).
    var routeBodyLimit: Int?
    var seed: UInt32

    init(_ bytes: UnsafeRawBufferPointer) {
        let flags = bytes.count > 0 ? bytes[0] : 0
        smallLimits = flags & 1 != 0
        routeBodyLimit = flags & 2 != 0 ? Int(flags >> 2) : nil
        seed = UInt32(flags) << 8 | UInt32(bytes.count > 1 ? bytes[1] : 0)
    }

    var limits: HTTPParserLimits {
        smallLimits
            ? HTTPParserLimits(maxRequestLineSize: 64, maxHeadSize: 256, maxHeaderCount: 8, maxBodySize: 512, maxChunkLineSize: 24)
            : HTTPParserLimits()
    }
}

// MARK: - What the server does with a head

/// The route table of the HTTP API (openapi.yaml, docs/architecture.md) (handlers are never called: only matching runs).
let router: Router = {
    var router = Router()
    let unused: @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse = { _, _ in throw HTTPError(.notFound, "unused") }
    for pattern in ["/healthz", "/readyz", "/metrics", "/v1/models/{name}", "/v1/models/{name}/layers",
                    "/v2", "/v2/health/live", "/v2/health/ready", "/v2/models/{model}", "/v2/models/{model}/versions/{version}",
                    "/v2/models/{model}/ready", "/v2/models/{model}/stats", "/v1/jobs", "/v1/jobs/{id}"] {
        router.get(pattern, unused)
    }
    for pattern in ["/v1/models", "/v1/models/{name}/features", "/v1/models/{name}/versions/{version}/features",
                    "/v1/models/{name}/attributions", "/v1/models/{name}/load", "/v1/models/{name}/unload",
                    "/v2/models/{model}/infer", "/v2/models/{model}/versions/{version}/infer", "/v2/repository/index",
                    "/v2/repository/models/{model}/load", "/v2/repository/models/{model}/unload", "/v1/jobs"] {
        router.post(pattern, unused)
    }
    router.delete("/v1/models/{name}", unused)
    router.delete("/v1/models/{name}/versions/{version}", unused)
    router.delete("/v1/jobs/{id}", unused)
    return router
}()

/// Routing, query decoding and the request id, as the connection and the handlers use them.
func process(_ head: HTTPRequestHead) {
    _ = router.bodyPolicy(for: head)
    for parameter in head.queryParameters { _ = parameter.name.utf8.count + parameter.value.utf8.count }
    let id = RequestContext.requestId(from: head.headers)
    guard !id.isEmpty, id.utf8.count <= 128, id.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
        invariantFailure("request id '\(id)' is not 1…128 visible ASCII characters")
    }
}

// MARK: - Delivery

/// One request as the parser delivered it, in comparable form.
struct DeliveredRequest: Equatable {
    var method: String
    var target: String
    var rawPath: String
    var path: String
    var query: String?
    var version: String
    var headers: [[String]]
    var framing: String
    var keepAlive: Bool
    var expectsContinue: Bool
    var body: [UInt8] = []
    var trailers: [[String]] = []
    var isComplete = false

    init(_ head: HTTPRequestHead) {
        method = head.method.rawValue
        target = head.target
        rawPath = head.rawPath
        path = head.path
        query = head.query
        version = head.version.description
        headers = head.headers.map { [$0.name, $0.value] }
        framing = "\(head.bodyFraming)"
        keepAlive = head.keepAlive
        expectsContinue = head.expectsContinue
    }
}

/// Everything one parse of a stream produced.
struct Delivery: Equatable {
    var requests: [DeliveredRequest] = []
    var failure: HTTPParseError?
}

/// A small deterministic generator for piece sizes (xorshift32).
struct PieceSizes {
    var state: UInt32

    init(seed: UInt32) { state = seed | 1 }

    mutating func next(upTo limit: Int) -> Int {
        state ^= state << 13
        state ^= state >> 17
        state ^= state << 5
        // Mostly tiny pieces (the hard case for a resumable parser), sometimes large ones.
        let bound = state & 3 == 0 ? limit : min(limit, 8)
        return 1 + Int(state >> 2) % max(bound, 1)
    }
}

/// Parses `stream` delivered in pieces (one piece when `seed` is nil), checking the contracts.
func deliver(_ stream: UnsafeRawBufferPointer, options: Options, seed: UInt32?) -> Delivery {
    var parser = HTTPRequestParser(limits: options.limits)
    var sizes = seed.map { PieceSizes(seed: $0) }
    var buffer: [UInt8] = []
    var delivery = Delivery()
    var current: DeliveredRequest?
    var offset = 0
    repeat {
        let remaining = stream.count - offset
        let piece = remaining == 0 ? 0 : sizes?.next(upTo: remaining) ?? remaining
        buffer.append(contentsOf: stream[offset..<(offset + piece)])
        offset += piece
        var stalls = 0
        parsing: while true {
            let (event, consumed) = buffer.withUnsafeBytes { parser.parse($0) }
            guard consumed >= 0, consumed <= buffer.count else {
                invariantFailure("consumed \(consumed) of \(buffer.count) bytes")
            }
            stalls = consumed == 0 ? stalls + 1 : 0
            // .end without a body consumes nothing, then the next head may: two idle calls in a
            // row without needMoreData mean the parser is stuck.
            if stalls > 2 { invariantFailure("no progress: \(event) consuming nothing three times") }
            switch event {
            case .head(let head):
                guard current == nil else { invariantFailure("head inside a request") }
                current = DeliveredRequest(head)
                if seed == nil { process(head) }
                if let limit = options.routeBodyLimit { parser.bodyLimit = limit }
            case .body(let range):
                guard current != nil else { invariantFailure("body before a head") }
                guard range.lowerBound == 0, range.upperBound == consumed, !range.isEmpty else {
                    invariantFailure("body range \(range) with \(consumed) consumed of \(buffer.count)")
                }
                current!.body += buffer[range]
            case .end(let trailers):
                guard var request = current else { invariantFailure("end before a head") }
                if request.framing.hasPrefix("contentLength"), request.framing != "contentLength(\(request.body.count))" {
                    invariantFailure("\(request.framing) delivered \(request.body.count) bytes")
                }
                if request.framing == "none", !request.body.isEmpty { invariantFailure("body without framing") }
                request.trailers = trailers.map { [$0.name, $0.value] }
                request.isComplete = true
                delivery.requests.append(request)
                current = nil
            case .failure(let error):
                let (again, consumedAgain) = buffer.withUnsafeBytes { parser.parse($0) }
                guard again == .failure(error), consumedAgain == 0 else { invariantFailure("failure \(error) is not terminal") }
                _ = error.status
                _ = error.description
                _ = error.errorType
                delivery.failure = error
                if let current { delivery.requests.append(current) }
                return delivery
            case .needMoreData:
                if consumed == 0 { break parsing }
            }
            buffer.removeFirst(consumed)
        }
    } while offset < stream.count
    if let current { delivery.requests.append(current) }
    return delivery
}

// MARK: - Entry point

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let options = Options(input)
    let stream = count > 2 ? UnsafeRawBufferPointer(rebasing: input[2...]) : UnsafeRawBufferPointer(start: nil, count: 0)
    let whole = deliver(stream, options: options, seed: nil)
    let pieces = deliver(stream, options: options, seed: options.seed)
    if whole != pieces {
        invariantFailure("delivery depends on how the stream is split:\nwhole:  \(whole)\npieces: \(pieces)")
    }
    return 0
}
