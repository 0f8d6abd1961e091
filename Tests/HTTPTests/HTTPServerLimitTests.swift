import Foundation
import Testing
@testable import HTTP

/// Live tests of every limit and timeout: each is answered with its status (or a close) and the
/// server stays healthy. Timeouts are short here and the bounds generous, for loaded machines.
@Suite struct HTTPServerLimitTests {
    @Test func oversizedHeadIs431AndCloses() async throws {
        try await withTestServer(configure: { $0.limits = HTTPParserLimits(maxRequestLineSize: 256, maxHeadSize: 1024) }) { server, _ in
            let port = server.port
            let (response, closed) = try await onThread {
                let connection = try TestConnection(port: port)
                try connection.send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: \(String(repeating: "x", count: 2000))\r\n\r\n")
                return (try connection.readResponse(), connection.waitForClose())
            }
            #expect(response.status == 431 && response.closesConnection && closed)
            #expect(response.text.contains("\"error_type\":\"headers_too_large\""))
        }
    }

    @Test func longRequestLineIs414() async throws {
        try await withTestServer(configure: { $0.limits = HTTPParserLimits(maxRequestLineSize: 256, maxHeadSize: 1024) }) { server, _ in
            let port = server.port
            let response = try await onThread {
                try TestConnection(port: port).request("GET", "/" + String(repeating: "a", count: 300))
            }
            #expect(response.status == 414 && response.closesConnection)
        }
    }

    @Test func tooManyHeadersIs431() async throws {
        try await withTestServer(configure: { $0.limits.maxHeaderCount = 10 }) { server, _ in
            let port = server.port
            let response = try await onThread {
                try TestConnection(port: port).request("GET", "/healthz", headers: (0..<11).map { ("X-F\($0)", "v") })
            }
            #expect(response.status == 431 && response.closesConnection)
        }
    }

    @Test func oversizedBodiesAre413() async throws {
        try await withTestServer(configure: { $0.limits.maxBodySize = 1000 }) { server, _ in
            let port = server.port
            let (declared, chunked) = try await onThread {
                // Declared too large: answered before the body is read (and the body is drained by the lingering close).
                let first = try TestConnection(port: port)
                let declared = try first.request("POST", "/echo", body: [UInt8](repeating: 1, count: 5000))
                // Chunked: answered once the running total passes the limit.
                let second = try TestConnection(port: port)
                try second.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
                try second.send("400\r\n" + String(repeating: "a", count: 1024) + "\r\n")
                return (declared, try second.readResponse())
            }
            #expect(declared.status == 413 && declared.closesConnection)
            #expect(chunked.status == 413 && chunked.closesConnection)
        }
    }

    @Test func streamingRouteLimitReachesTheHandlerAs413() async throws {
        try await withTestServer { server, _ in
            let port = server.port
            // /upload-limited allows 1 MiB: stream 2 MiB in chunks; the handler's read throws the 413.
            let response = try await onThread {
                let connection = try TestConnection(port: port)
                try connection.send("POST /upload-limited HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
                let chunk = Array("40000\r\n".utf8) + [UInt8](repeating: 7, count: 1 << 18) + [13, 10]
                for _ in 0..<8 { try? connection.send(chunk) }
                return try connection.readResponse()
            }
            #expect(response.status == 413)
            #expect(response.closesConnection)
        }
    }

    @Test func connectionsOverTheCapAreRefused() async throws {
        try await withTestServer(configure: { $0.maxConnections = 2 }) { server, _ in
            let port = server.port
            let (first, second, refused) = try await onThread {
                let a = try TestConnection(port: port), b = try TestConnection(port: port)
                let first = try a.request("GET", "/healthz"), second = try b.request("GET", "/healthz")
                let c = try TestConnection(port: port)
                try? c.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                let refused = try? c.readResponse()
                return (first.status, second.status, refused?.status)
            }
            #expect(first == 200 && second == 200)
            #expect(refused == 503 || refused == nil)
            // Below the cap again, connections are served.
            #expect(await Probe().wait { server.openConnections == 0 })
            let again = try await onThread { try TestConnection(port: port).request("GET", "/healthz") }
            #expect(again.status == 200)
        }
    }

    @Test func slowlorisHeadGets408() async throws {
        try await withTestServer(configure: { $0.headerReadTimeout = .milliseconds(300) }) { server, _ in
            let port = server.port
            let (response, elapsed) = try await onThread {
                let connection = try TestConnection(port: port)
                let start = ContinuousClock.now
                // A byte every 50 ms keeps the connection busy but never completes the head.
                var response: TestResponse?
                for byte in "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ".utf8 {
                    if (try? connection.send([byte])) == nil { break }
                    Thread.sleep(forTimeInterval: 0.05)
                    if ContinuousClock.now - start > .seconds(1) { break }
                }
                response = try? connection.readResponse()
                return (response, ContinuousClock.now - start)
            }
            #expect(response?.status == 408)
            #expect(elapsed < .seconds(5))
        }
    }

    @Test func idleKeepAliveConnectionsAreClosed() async throws {
        try await withTestServer(configure: { $0.idleTimeout = .milliseconds(200) }) { server, _ in
            let port = server.port
            let (status, closed, elapsed) = try await onThread {
                let connection = try TestConnection(port: port, timeout: .seconds(5))
                let status = try connection.request("GET", "/healthz").status
                let start = ContinuousClock.now
                return (status, connection.waitForClose(), ContinuousClock.now - start)
            }
            #expect(status == 200 && closed)
            #expect(elapsed >= .milliseconds(150) && elapsed < .seconds(4))
        }
    }

    @Test func newConnectionWithoutRequestIsClosedAfterTheHeaderTimeout() async throws {
        try await withTestServer(configure: { $0.headerReadTimeout = .milliseconds(200) }) { server, _ in
            let port = server.port
            let closed = try await onThread { try TestConnection(port: port, timeout: .seconds(5)).waitForClose() }
            #expect(closed)
        }
    }

    @Test func stalledBodyGets408() async throws {
        try await withTestServer(configure: { $0.bodyReadTimeout = .milliseconds(200) }) { server, _ in
            let port = server.port
            let (response, closed) = try await onThread {
                let connection = try TestConnection(port: port)
                try connection.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
                return (try connection.readResponse(), connection.waitForClose())
            }
            #expect(response.status == 408 && response.closesConnection && closed)
        }
    }

    @Test func clientThatStopsReadingHitsTheWriteTimeout() async throws {
        try await withTestServer(configure: { $0.writeTimeout = .milliseconds(200) }) { server, _ in
            let port = server.port
            let size = 64 << 20
            let connection = try TestConnection(port: port)
            var small: Int32 = 16 * 1024
            setsockopt(connection.descriptor, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            try connection.send("GET /big?bytes=\(size) HTTP/1.1\r\nHost: t\r\n\r\n")
            // The response has started (so the connection is open) ...
            let started = try await onThread { () -> Int in
                var bytes = [UInt8](repeating: 0, count: 16)
                return read(connection.descriptor, &bytes, 16)
            }
            #expect(started == 16)
            // ... and then is not read: the server gives up on the stalled write and closes.
            #expect(await Probe().wait(timeout: .seconds(10)) { server.openConnections == 0 })
            // What had been sent before is still readable, then the stream ends short.
            let received = try await onThread { connection.countUntilClose() }
            #expect(received != nil)
            #expect((received ?? size) < size, "the response must have been cut off")
        }
    }

    @Test func thousandIdleConnectionsCostNoThreadsAndRequestsStillSucceed() async throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < 4096 {
            limit.rlim_cur = min(4096, limit.rlim_max)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        try #require(limit.rlim_cur >= 2200, "needs 2 descriptors per connection")
        try await withTestServer { server, _ in
            let port = server.port
            let threadsBefore = serverThreadCount()
            let idle = try await onThread { try (0..<1000).map { _ in try TestConnection(port: port) } }
            #expect(await Probe().wait(timeout: .seconds(10)) { server.openConnections == 1000 })
            // The HTTP target's threads, by name (other tests run alongside and start threads of their own, and
            // servers with their loops): a thread per connection would add 1000.
            #expect(serverThreadCount() < threadsBefore + 100, "idle connections must not cost threads")
            let (fresh, reused) = try await onThread {
                let fresh = try (0..<20).map { _ in try TestConnection(port: port).request("GET", "/healthz").status }
                let reused = try stride(from: 0, to: 1000, by: 97).map { try idle[$0].request("GET", "/hello/idle").status }
                return (fresh, reused)
            }
            #expect(fresh.allSatisfy { $0 == 200 })
            #expect(reused.allSatisfy { $0 == 200 })
            withExtendedLifetime(idle) {}
        }
    }
}

/// Threads of this process that the HTTP target started: event loops and handler workers.
func serverThreadCount() -> Int {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.count { task in
        let name = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
        return name.hasPrefix(EventLoop.threadName) || name.hasPrefix(HandlerExecutor.threadName)
    }
}
