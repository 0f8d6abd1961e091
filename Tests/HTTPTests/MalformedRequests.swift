/// The checked-in corpus of malformed requests: each must be rejected by the parser with the given
/// status, and answered by a live server with that status (or a close), never a crash or a hang.
struct MalformedRequest: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let status: Int

    init(_ name: String, _ text: String, _ status: Int = 400) {
        self.name = name
        self.bytes = Array(text.utf8)
        self.status = status
    }

    init(_ name: String, bytes: [UInt8], _ status: Int = 400) {
        self.name = name
        self.bytes = bytes
        self.status = status
    }

    var testDescription: String { name }
}

import Testing

let malformedRequests: [MalformedRequest] = {
    let host = "Host: example\r\n"
    let post = "POST /echo HTTP/1.1\r\n" + host
    let chunkedPost = post + "Transfer-Encoding: chunked\r\n\r\n"
    return [
        // Request line
        MalformedRequest("method only", "GET\r\n\r\n"),
        MalformedRequest("no version", "GET /\r\n\r\n"),
        MalformedRequest("extra word after version", "GET / HTTP/1.1 extra\r\n\(host)\r\n"),
        MalformedRequest("double space after method", "GET  / HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("leading space", " GET / HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("invalid character in method", "G(T / HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("NUL in method", "G\u{0}T / HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("trailing space after version", "GET / HTTP/1.1 \r\n\(host)\r\n"),
        MalformedRequest("lowercase protocol name", "GET / http/1.1\r\n\(host)\r\n"),
        MalformedRequest("version without minor", "GET / HTTP/1\r\n\(host)\r\n"),
        MalformedRequest("version with three parts", "GET / HTTP/1.1.1\r\n\(host)\r\n"),
        MalformedRequest("version letters", "GET / HTTP/a.b\r\n\(host)\r\n"),
        MalformedRequest("bare CR ends request line", "GET / HTTP/1.1\r\(host)\r\n"),
        // Request target
        MalformedRequest("DEL in target", "GET /a\u{7F} HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("tab in target", "GET /a\tb HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("non-ASCII in target", "GET /caf\u{E9} HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("relative target", "GET relative HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("asterisk target for GET", "GET * HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("fragment in target", "GET /a#frag HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("bad percent escape", "GET /a%zz HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("percent at end", "GET /a% HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("short percent escape", "GET /a%2 HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("percent-encoded NUL", "GET /a%00b HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("percent-encoded invalid UTF-8", "GET /%ff%fe HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("bad escape in query", "GET /?q=%zz HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("absolute-form without host", "GET http:// HTTP/1.1\r\n\(host)\r\n"),
        MalformedRequest("unknown scheme", "GET ftp://x/ HTTP/1.1\r\n\(host)\r\n"),
        // Header fields
        MalformedRequest("HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n"),
        MalformedRequest("two Host fields", "GET / HTTP/1.1\r\n\(host)\(host)\r\n"),
        MalformedRequest("two Host fields in HTTP/1.0", "GET / HTTP/1.0\r\n\(host)\(host)\r\n"),
        MalformedRequest("space before colon", "GET / HTTP/1.1\r\nHost : example\r\n\r\n"),
        MalformedRequest("field without colon", "GET / HTTP/1.1\r\n\(host)X-Broken\r\n\r\n"),
        MalformedRequest("empty field name", "GET / HTTP/1.1\r\n\(host): value\r\n\r\n"),
        MalformedRequest("space in field name", "GET / HTTP/1.1\r\n\(host)Bad Name: x\r\n\r\n"),
        MalformedRequest("obs-fold with space", "GET / HTTP/1.1\r\n\(host)X-A: a\r\n b\r\n\r\n"),
        MalformedRequest("obs-fold with tab", "GET / HTTP/1.1\r\n\(host)X-A: a\r\n\tb\r\n\r\n"),
        MalformedRequest("obs-fold as first field", "GET / HTTP/1.1\r\n \(host)\r\n"),
        MalformedRequest("NUL in field value", "GET / HTTP/1.1\r\n\(host)X-A: a\u{0}b\r\n\r\n"),
        MalformedRequest("bare CR in field value", "GET / HTTP/1.1\r\n\(host)X-A: a\rb\r\n\r\n"),
        MalformedRequest("double CR before LF", "GET / HTTP/1.1\r\n\(host)X-A: a\r\r\n\r\n"),
        MalformedRequest("DEL in field value", "GET / HTTP/1.1\r\n\(host)X-A: a\u{7F}\r\n\r\n"),
        MalformedRequest("control character in field value", "GET / HTTP/1.1\r\n\(host)X-A: \u{1}\r\n\r\n"),
        // Content-Length
        MalformedRequest("Content-Length not a number", post + "Content-Length: abc\r\n\r\n"),
        MalformedRequest("negative Content-Length", post + "Content-Length: -1\r\n\r\n"),
        MalformedRequest("Content-Length with inner space", post + "Content-Length: 1 2\r\n\r\n"),
        MalformedRequest("Content-Length with plus sign", post + "Content-Length: +5\r\n\r\n"),
        MalformedRequest("conflicting Content-Length fields", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        MalformedRequest("conflicting Content-Length list", post + "Content-Length: 5, 6\r\n\r\n"),
        MalformedRequest("Content-Length overflow", post + "Content-Length: 99999999999999999999\r\n\r\n"),
        MalformedRequest("empty Content-Length", post + "Content-Length: \r\n\r\n"),
        MalformedRequest("Content-Length hex", post + "Content-Length: 0x10\r\n\r\n"),
        // Transfer-Encoding
        MalformedRequest("Content-Length and Transfer-Encoding", post + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
        MalformedRequest("Transfer-Encoding and Content-Length", post + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"),
        MalformedRequest("chunked twice", post + "Transfer-Encoding: chunked, chunked\r\n\r\n"),
        MalformedRequest("chunked in two fields", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
        MalformedRequest("empty Transfer-Encoding", post + "Transfer-Encoding: \r\n\r\n"),
        MalformedRequest("Transfer-Encoding in HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        // Chunked framing
        MalformedRequest("chunk size not hex", chunkedPost + "zz\r\n"),
        MalformedRequest("chunk size missing", chunkedPost + ";name=value\r\n"),
        MalformedRequest("negative chunk size", chunkedPost + "-1\r\n"),
        MalformedRequest("chunk data without CRLF", chunkedPost + "3\r\nabcX\r\n0\r\n\r\n"),
        MalformedRequest("garbage after chunk size", chunkedPost + "3 x\r\nabc\r\n0\r\n\r\n"),
        MalformedRequest("chunk size overflow", chunkedPost + "ffffffffffffffffff\r\n"),
        MalformedRequest("malformed trailer", chunkedPost + "3\r\nabc\r\n0\r\nBad Trailer\r\n\r\n"),
        MalformedRequest("control character in chunk extension", chunkedPost + "3;a=\u{1}\r\nabc\r\n0\r\n\r\n"),
        MalformedRequest("chunk-size line too long", chunkedPost + "3;" + String(repeating: "x", count: 2000) + "\r\n"),
        // Expectations and limits
        MalformedRequest("unknown expectation", post + "Content-Length: 3\r\nExpect: something\r\n\r\nabc", 417),
        MalformedRequest("request line too long", "GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\n\(host)\r\n", 414),
        MalformedRequest("header section too large", "GET / HTTP/1.1\r\n\(host)X-Big: " + String(repeating: "b", count: 40_000) + "\r\n\r\n", 431),
        MalformedRequest("too many header fields",
                         "GET / HTTP/1.1\r\n\(host)" + (0..<120).map { "X-F\($0): v\r\n" }.joined() + "\r\n", 431),
        MalformedRequest("body over the limit", post + "Content-Length: 20000000\r\n\r\n", 413),
    ]
}()
