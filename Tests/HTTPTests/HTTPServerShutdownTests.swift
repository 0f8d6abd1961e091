import Foundation
import Synchronization
import Testing
@testable import HTTP

/// Graceful shutdown: in-flight requests finish, idle connections close, new requests get 503,
/// the drain timeout bounds the wait, and a signal starts it all.
@Suite struct HTTPServerShutdownTests {
    private func startServer(probe: Probe, configure: (inout HTTPServerConfiguration) -> Void = { _ in }) throws -> HTTPServer {
        var configuration = HTTPServerConfiguration(port: 0)
        configure(&configuration)
        let server = HTTPServer(configuration: configuration, responder: makeTestApp(probe: probe), logger: .disabled)
        try server.start()
        return server
    }

    @Test func inFlightRequestsCompleteAndIdleConnectionsClose() async throws {
        let probe = Probe()
        let server = try startServer(probe: probe)
        let port = server.port
        let idle = try (0..<5).map { _ in try TestConnection(port: port) }
        #expect(await probe.wait { server.openConnections == 5 })
        // Eight requests in flight, held at the gate until the drain has begun.
        let responses = Task {
            try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await onThread { try TestConnection(port: port).request("GET", "/gate") } }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(await probe.wait(timeout: .seconds(20)) { probe.inFlight == 8 })
        let start = ContinuousClock.now
        let shutdown = Task { await server.shutdown(drainTimeout: .seconds(30)) }
        #expect(await probe.wait { server.isDraining })
        try await Task.sleep(for: .milliseconds(50))
        #expect(probe.inFlight == 8, "the drain must wait for in-flight requests")
        probe.openGate()
        await shutdown.value
        let elapsed = ContinuousClock.now - start
        let answered = try await responses.value
        #expect(answered.count == 8)
        #expect(answered.allSatisfy { $0.status == 200 && $0.text == "done" && $0.closesConnection })
        #expect(elapsed < .seconds(20), "the drain waits for the requests, not for the timeout")
        #expect(server.openConnections == 0)
        // Idle connections were closed, and nothing listens any more.
        let closed = try await onThread { idle.map { $0.waitForClose() } }
        #expect(closed.allSatisfy { $0 })
        #expect(throws: TestConnectionError.self) { _ = try TestConnection(port: port) }
    }

    @Test func requestsArrivingDuringTheDrainGet503() async throws {
        let probe = Probe()
        let server = try startServer(probe: probe)
        let port = server.port
        let late = try TestConnection(port: port)
        try late.send("GET /healthz HTTP/1.1\r\n")  // head started before the shutdown, finished after
        let inFlight = try TestConnection(port: port)
        try inFlight.send("GET /gate HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(await probe.wait(timeout: .seconds(20)) { probe.inFlight == 1 })
        let shutdown = Task { await server.shutdown(drainTimeout: .seconds(30)) }
        #expect(await probe.wait { server.isDraining })
        try late.send("Host: t\r\n\r\n")
        let rejected = try await onThread { try late.readResponse() }
        probe.openGate()
        let finished = try await onThread { try inFlight.readResponse() }
        await shutdown.value
        #expect(rejected.status == 503 && rejected.closesConnection)
        #expect(rejected.text.contains("shutting down"))
        #expect(finished.status == 200 && finished.closesConnection)
    }

    @Test func drainTimeoutClosesWhatIsLeftAndTellsTheHandler() async throws {
        let probe = Probe()
        let server = try startServer(probe: probe)
        let port = server.port
        let stuck = try TestConnection(port: port)
        try stuck.send("GET /wait-disconnect HTTP/1.1\r\nHost: t\r\nX-Request-Id: stuck\r\n\r\n")
        #expect(await probe.wait { probe.inFlight == 1 })
        let start = ContinuousClock.now
        await server.shutdown(drainTimeout: .milliseconds(200))
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(await probe.wait { probe.disconnected == ["stuck"] })
        #expect(try await onThread { stuck.waitForClose() })
    }

    @Test func shutdownIsIdempotentAndConcurrent() async throws {
        let server = try startServer(probe: Probe())
        async let first: Void = server.shutdown(drainTimeout: .seconds(1))
        async let second: Void = server.shutdown(drainTimeout: .seconds(1))
        _ = await (first, second)
        await server.shutdown(drainTimeout: .seconds(1))
        #expect(server.localAddress == nil)
        // A server that never started shuts down at once.
        await HTTPServer(responder: Router()).shutdown(drainTimeout: .seconds(1))
    }

    @Test func signalStartsTheGracefulShutdown() async throws {
        // Ignored until the server watches it, so an early delivery cannot end the test process.
        signal(SIGUSR2, SIG_IGN)
        let probe = Probe()
        let server = try startServer(probe: probe)
        let port = server.port
        let connection = try TestConnection(port: port)
        try connection.send("GET /gate HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(await probe.wait(timeout: .seconds(20)) { probe.inFlight == 1 })
        // SIGUSR2 stands in for SIGTERM, which would end the test process if it arrived first.
        let run = Task { await server.runUntilSignal([SIGUSR2], drainTimeout: .seconds(30)) }
        // Repeat the signal until it is seen: the handler is installed by the task above.
        var draining = false
        for _ in 0..<200 where !draining {
            kill(getpid(), SIGUSR2)
            draining = await probe.wait(timeout: .milliseconds(50)) { server.isDraining }
        }
        #expect(draining)
        probe.openGate()
        let response = try await onThread { try connection.readResponse() }
        #expect(await run.value == SIGUSR2)
        #expect(response.status == 200 && response.closesConnection)
        #expect(server.localAddress == nil)
    }

    @Test func startFailsClearlyOnABadAddressOrABusyPort() async throws {
        #expect(throws: HTTPServerError.invalidHost("not-an-address")) {
            try HTTPServer(configuration: HTTPServerConfiguration(host: "not-an-address", port: 0), responder: Router()).start()
        }
        #expect(throws: HTTPServerError.invalidConfiguration(field: "eventLoopThreads", reason: "expected 1...64, got 0")) {
            try HTTPServer(configuration: HTTPServerConfiguration(port: 0, eventLoopThreads: 0), responder: Router()).start()
        }
        let server = try startServer(probe: Probe())
        defer { Task { await server.shutdown(drainTimeout: .seconds(1)) } }
        let busy = HTTPServer(configuration: HTTPServerConfiguration(port: server.port), responder: Router())
        #expect(throws: HTTPServerError.self) { try busy.start() }
        await server.shutdown(drainTimeout: .seconds(1))
    }
}
