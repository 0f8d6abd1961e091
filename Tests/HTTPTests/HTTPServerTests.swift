import Foundation
import Logging
import Testing
@testable import HTTP

/// Live loopback tests of the protocol behaviour: a real server on an OS-chosen port, raw sockets.
@Suite struct HTTPServerTests {
    @Test func portZeroReportsTheChosenPortAndKeepAliveReusesTheConnection() async throws {
        try await withTestServer { server, _ in
            #expect(server.port > 0)
            #expect(server.localAddress?.host == "127.0.0.1")
            let port = server.port
            let responses = try await onThread {
                let connection = try TestConnection(port: port)
                return try (0..<3).map { _ in try connection.request("GET", "/healthz") }
            }
            #expect(responses.map(\.status) == [200, 200, 200])
            #expect(responses.allSatisfy { $0.text == "ok\n" && !$0.closesConnection })
            #expect(responses.allSatisfy { $0.headers["date"] != nil && $0.headers["server"] == "Periscope" })
            // Three requests, three distinct ids, one connection.
            #expect(Set(responses.compactMap { $0.headers["x-request-id"] }).count == 3)
            #expect(server.openConnections <= 1)
        }
    }

    @Test func requestIdIsEchoed() async throws {
        try await withTestServer { server, _ in
            let port = server.port
            let response = try await onThread {
                try TestConnection(port: port).request("GET", "/healthz", headers: [("X-Request-Id", "client-id-42")])
            }
            #expect(response.headers["x-request-id"] == "client-id-42")
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withTestServer { server, _ in
            let port = server.port
            let responses = try await onThread {
                let connection = try TestConnection(port: port)
                try connection.send("GET /slow?ms=50 HTTP/1.1\r\nHost: t\r\n\r\n"
                                    + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
                                    + "GET /hello/pipeline HTTP/1.1\r\nHost: t\r\n\r\n"
                                    + "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                let responses = try (0..<4).map { _ in try connection.readResponse() }
                return (responses, connection.waitForClose())
            }
            #expect(responses.0.map(\.text) == ["done", "hello", "hello pipeline", "ok\n"])
            #expect(responses.0.last?.closesConnection == true)
            #expect(responses.1)
        }
    }

    @Test func pathParametersArePercentDecoded() async throws {
        try await withTestServer { server, _ in
            let port = server.port
            let response = try await onThread { try TestConnection(port: port).request("GET", "/hello/caf%C3%A9%20net") }
            #expect(response.text == "hello café net")
        }
    }

    @Test(arguments: ["/echo", "/upload"])
    func chunkedUploadWithTrailers(path: String) async throws {
        try await withTestServer { server, _ in
            let port = server.port
            let chunks = (0..<20).map { index in [UInt8](repeating: UInt8(index), count: 100 + index * 37) }
            let response = try await onThread {
                let connection = try TestConnection(port: port)
                try connection.send("POST \(path) HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
                for chunk in chunks {
                    try connection.send(Array("\(String(chunk.count, radix: 16));ext=1\r\n".utf8) + chunk + [13, 10])
                }
                try connection.send("0\r\nX-Checksum: none\r\n\r\n")
                return try connection.readResponse()
            }
            let all = chunks.flatMap { $0 }
            #expect(response.status == 200)
            if path == "/echo" {
                #expect(response.body == all)
            } else {
                #expect(response.text.hasPrefix("{\"bytes\":\(all.count),"))
                #expect(response.text.hasSuffix("\"fnv\":\(fnv1a(all))}"))
            }
        }
    }

    @Test func chunkedDownload() async throws {
        try await withTestServer { server, _ in
            let port = server.port
            let response = try await onThread { try TestConnection(port: port).request("GET", "/stream?chunks=7&size=3000") }
            #expect(response.status == 200)
            #expect(response.headers["transfer-encoding"] == "chunked")
            #expect(response.headers["content-length"] == nil)
            #expect(response.body == (0..<7).flatMap { [UInt8](repeating: UInt8($0), count: 3000) })
        }
    }

    @Test(arguments: ["/echo", "/upload"])
    func expectContinue(path: String) async throws {
        try await withTestServer { server, _ in
            let port = server.port
            let (interim, final) = try await onThread {
                let connection = try TestConnection(port: port)
                try connection.send("POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
                // The body is sent only after the 100, as a real client does.
                let interim = try connection.readResponse()
                try connection.send("hello")
                return (interim, try connection.readResponse())
            }
            #expect(interim.status == 100)
            #expect(final.status == 200)
            #expect(path == "/upload" ? final.text.hasPrefix("{\"bytes\":5,") : final.text == "hello")
        }
    }

    @Test func expectContinueOverTheLimitGets413Instead() async throws {
        try await withTestServer(configure: { $0.limits.maxBodySize = 10 }) { server, _ in
            let port = server.port
            let (response, closed) = try await onThread {
                let connection = try TestConnection(port: port)
                try connection.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
                return (try connection.readResponse(), connection.waitForClose())
            }
            #expect(response.status == 413)
            #expect(response.closesConnection && closed)
        }
    }

    @Test func headHasHeadersButNoBody() async throws {
        try await withTestServer { server, _ in
            let port = server.port
            let (head, stream, next) = try await onThread {
                let connection = try TestConnection(port: port)
                let head = try connection.request("HEAD", "/healthz")
                let stream = try connection.request("HEAD", "/stream")
                // A body sent after either would be parsed as this response's head and fail.
                return (head, stream, try connection.request("GET", "/healthz"))
            }
            #expect(head.status == 200 && head.headers["content-length"] == "3" && head.body.isEmpty)
            #expect(stream.status == 200 && stream.body.isEmpty)
            #expect(next.text == "ok\n")
        }
    }

    @Test func unknownPathIs404AndWrongMethodIs405WithAllow() async throws {
        try await withTestServer { server, _ in
            let port = server.port
            let (missing, wrong) = try await onThread {
                let connection = try TestConnection(port: port)
                return (try connection.request("GET", "/nowhere"), try connection.request("DELETE", "/healthz"))
            }
            #expect(missing.status == 404)
            #expect(missing.text == "{\"error\":\"no route for GET /nowhere\",\"error_type\":\"not_found\"}")
            #expect(wrong.status == 405)
            #expect(wrong.headers["allow"] == "GET, HEAD")
            #expect(wrong.headers["x-request-id"] != nil)
        }
    }

    @Test func handlerErrorsAreMapped() async throws {
        try await withTestServer { server, _ in
            let port = server.port
            let (failed, teapot) = try await onThread {
                let connection = try TestConnection(port: port)
                return (try connection.request("GET", "/fail", headers: [("X-Request-Id", "rid-1")]),
                        try connection.request("GET", "/status/418"))
            }
            #expect(failed.status == 500)
            #expect(failed.text == "{\"error\":\"internal server error (request id rid-1)\",\"error_type\":\"internal\"}")
            #expect(teapot.status == 418)
            #expect(teapot.text.contains("\"error\":\"asked for it\""))
        }
    }

    @Test func http10ClosesUnlessKeepAliveIsAsked() async throws {
        try await withTestServer { server, _ in
            let port = server.port
            let (plain, plainClosed, kept, keptAgain) = try await onThread {
                let first = try TestConnection(port: port)
                try first.send("GET /healthz HTTP/1.0\r\n\r\n")
                let plain = try first.readResponse()
                let plainClosed = first.waitForClose()
                let second = try TestConnection(port: port)
                try second.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                let kept = try second.readResponse()
                try second.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                // No chunking for HTTP/1.0: the streamed body ends with the connection.
                return (plain, plainClosed, kept, try second.readResponse())
            }
            #expect(plain.status == 200 && plain.closesConnection && plainClosed)
            #expect(kept.headers["connection"] == "keep-alive")
            #expect(keptAgain.headers["transfer-encoding"] == nil && keptAgain.closesConnection)
            #expect(keptAgain.body.count == 30)
        }
    }

    @Test func malformedCorpusIsAnsweredWithItsStatusOrClosed() async throws {
        try await withTestServer { server, _ in
            let port = server.port
            let outcomes = try await onThread {
                try malformedRequests.map { request -> (String, Int?, Bool) in
                    let connection = try TestConnection(port: port, timeout: .seconds(5))
                    try? connection.send(request.bytes)
                    let response = try? connection.readResponse()
                    return (request.name, response?.status, connection.waitForClose())
                }
            }
            for ((name, status, closed), request) in zip(outcomes, malformedRequests) {
                #expect(status == request.status || (status == nil && closed), "\(name): got \(String(describing: status))")
                #expect(closed, "\(name): the connection must be closed")
            }
            // The server is still healthy afterwards.
            let healthy = try await onThread { try TestConnection(port: port).request("GET", "/healthz") }
            #expect(healthy.status == 200)
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/net/if_inet6")))
    func servesIPv6() async throws {
        try await withTestServer(host: "::1") { server, _ in
            #expect(server.localAddress?.family == .ipv6)
            let port = server.port
            let response = try await onThread { try TestConnection(port: port, host: "::1").request("GET", "/healthz") }
            #expect(response.status == 200)
        }
    }

    @Test func clientDisconnectIsSignalledToTheHandler() async throws {
        try await withTestServer { server, probe in
            let port = server.port
            var connection: TestConnection? = try TestConnection(port: port)
            try connection?.send("GET /wait-disconnect HTTP/1.1\r\nHost: t\r\nX-Request-Id: leaving\r\n\r\n")
            // Once the handler runs, the client goes away.
            #expect(await probe.wait(timeout: .seconds(20)) { probe.inFlight == 1 })
            connection = nil
            #expect(await probe.wait { probe.disconnected == ["leaving"] })
            #expect(await probe.wait { server.openConnections == 0 })
            withExtendedLifetime(connection) {}
        }
    }

    @Test func clientDisconnectCancelsTheHandlerTask() async throws {
        try await withTestServer { server, probe in
            let port = server.port
            var connection: TestConnection? = try TestConnection(port: port)
            try connection?.send("GET /sleep HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(await probe.wait(timeout: .seconds(20)) { probe.inFlight == 1 })
            connection = nil
            #expect(await probe.wait { probe.disconnected == ["cancelled"] })
            withExtendedLifetime(connection) {}
        }
    }

    /// Regression (scripts/soak): a streamed response ready after its client left was dropped
    /// without running its producer, so the service's in-flight gauge never came down.
    @Test func aStreamedResponseReadyAfterTheClientLeftStillRunsItsProducer() async throws {
        try await withTestServer { server, probe in
            var connection: TestConnection? = try TestConnection(port: server.port)
            try connection?.send("GET /gate-stream HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(await probe.wait(timeout: .seconds(20)) { probe.inFlight == 1 })
            connection = nil
            #expect(await probe.wait { server.openConnections == 0 })
            probe.openGate()
            #expect(await probe.wait { probe.streamEndings.count == 1 })
            #expect(probe.streamEndings == [String(describing: HTTPError.clientDisconnected)])
            #expect(probe.inFlight == 0)
            withExtendedLifetime(connection) {}
        }
    }

    @Test func slowReaderSuspendsTheStreamedBody() async throws {
        try await withTestServer(configure: { $0.responseHighWaterMark = 64 * 1024 }) { server, probe in
            let port = server.port
            let chunks = 256, size = 64 * 1024  // 16 MiB in total
            let connection = try TestConnection(port: port)
            var small: Int32 = 64 * 1024
            setsockopt(connection.descriptor, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            try connection.send("GET /stream?chunks=\(chunks)&size=\(size) HTTP/1.1\r\nHost: t\r\n\r\n")
            try await Task.sleep(for: .milliseconds(400))
            // Not read at all: the producer must be held at socket buffers + the high-water mark.
            let producedWhileStalled = probe.produced
            #expect(producedWhileStalled < chunks * size / 2, "produced \(producedWhileStalled) bytes for a client that reads nothing")
            let response = try await onThread { try connection.readResponse() }
            #expect(response.body.count == chunks * size)
            #expect(probe.produced == chunks * size)
        }
    }

    @Test func slowUploadConsumerPausesAndResumesReading() async throws {
        try await withTestServer(configure: { $0.requestBodyHighWaterMark = 16 * 1024 }) { server, _ in
            let port = server.port
            let body = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            // The first 30 chunks are read slowly: the connection must stop reading (the unread
            // bytes stay in the kernel) and resume once the handler catches up, losing nothing.
            let response = try await onThread {
                try TestConnection(port: port).request("POST", "/upload?delay_ms=5&delay_chunks=30", body: body)
            }
            #expect(response.status == 200)
            #expect(response.text.hasPrefix("{\"bytes\":\(body.count),"))
            #expect(response.text.hasSuffix("\"fnv\":\(fnv1a(body))}"))
        }
    }

    @Test func accessLogWritesOneJSONLinePerRequest() async throws {
        let sink = CapturingLogSink()
        try await withTestServer(logger: Logger(label: "test", sink: sink)) { server, _ in
            let port = server.port
            _ = try await onThread {
                let connection = try TestConnection(port: port)
                _ = try connection.request("GET", "/hello/log?x=1", headers: [("X-Request-Id", "log-1")])
                _ = try connection.request("GET", "/stream?chunks=2&size=5", headers: [("X-Request-Id", "log-2")])
            }
            let requestLines: @Sendable () -> [String] = { sink.lines.filter { $0.contains("\"msg\":\"request\"") } }
            #expect(await Probe().wait { requestLines().count == 2 })
            let records = try requestLines().map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            #expect(records[0]["method"] as? String == "GET")
            #expect(records[0]["path"] as? String == "/hello/log")
            #expect(records[0]["status"] as? Int == 200)
            #expect(records[0]["bytes"] as? Int == 9)
            #expect(records[0]["request_id"] as? String == "log-1")
            #expect((records[0]["duration_ms"] as? Double ?? -1) >= 0)
            #expect(records[1]["bytes"] as? Int == 10)
            #expect(records[1]["request_id"] as? String == "log-2")
        }
    }
}
