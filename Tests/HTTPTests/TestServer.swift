import Foundation
import Logging
import Synchronization
import Testing
@testable import HTTP

/// What the test app's handlers observed, for tests to check.
final class Probe: Sendable {
    private struct State {
        var inFlight = 0
        var started = 0
        var disconnected: [String] = []
        var produced = 0
        var streamEndings: [String] = []
        var gateOpen = false
        var gateWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var inFlight: Int { state.withLock { $0.inFlight } }
    var started: Int { state.withLock { $0.started } }
    var disconnected: [String] { state.withLock { $0.disconnected } }
    /// Bytes a streamed response has written so far.
    var produced: Int { state.withLock { $0.produced } }

    func begin() { state.withLock { $0.inFlight += 1; $0.started += 1 } }
    func end() { state.withLock { $0.inFlight -= 1 } }
    func noteDisconnect(_ requestId: String) { state.withLock { $0.disconnected.append(requestId) } }
    func noteProduced(_ count: Int) { state.withLock { $0.produced += count } }
    /// How each streamed body of `/gate-stream` ended: "sent", or the error its write threw.
    var streamEndings: [String] { state.withLock { $0.streamEndings } }
    func noteStreamEnded(_ ending: String) { state.withLock { $0.streamEndings.append(ending) } }

    /// Suspends until `openGate()` (at once if it was opened already).
    func passGate() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let open = state.withLock { state -> Bool in
                if state.gateOpen { return true }
                state.gateWaiters.append(continuation)
                return false
            }
            if open { continuation.resume() }
        }
    }

    /// Lets every request waiting at the gate (and every later one) through.
    func openGate() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.gateOpen = true
            defer { state.gateWaiters = [] }
            return state.gateWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Polls `condition` until it holds or `timeout` passes.
    func wait(timeout: Duration = .seconds(5), until condition: @Sendable () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }
}

/// A 32-bit FNV-1a checksum, to compare uploaded bytes without keeping them.
func fnv1a(_ bytes: [UInt8], seed: UInt32 = 2_166_136_261) -> UInt32 {
    var hash = seed
    for byte in bytes { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
    return hash
}

/// The routes the live tests exercise.
func makeTestApp(probe: Probe, logger: Logger = .disabled) -> MiddlewareChain {
    var router = Router()
    router.get("/healthz") { _, _ in .text("ok\n") }
    router.get("/hello/{name}") { request, _ in .text("hello \(request.pathParameter("name"))") }
    router.post("/echo") { request, _ in
        HTTPResponse(contentType: request.headers["content-type"] ?? "application/octet-stream", body: request.body.bytes ?? [])
    }
    let upload: @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse = { request, _ in
        var count = 0, chunks = 0
        var hash: UInt32 = 2_166_136_261
        for try await chunk in request.body {
            count += chunk.count
            chunks += 1
            hash = fnv1a(chunk, seed: hash)
            if let delay = request.head.queryValue(named: "delay_ms").flatMap(Int.init),
               chunks <= request.head.queryValue(named: "delay_chunks").flatMap(Int.init) ?? .max {
                try await Task.sleep(for: .milliseconds(delay))
            }
        }
        return .json("{\"bytes\":\(count),\"chunks\":\(chunks),\"fnv\":\(hash)}")
    }
    router.post("/upload", body: .streaming(maxSize: 64 << 20), upload)
    router.post("/upload-limited", body: .streaming(maxSize: 1 << 20), upload)
    router.get("/stream") { request, _ in
        let chunks = request.head.queryValue(named: "chunks").flatMap(Int.init) ?? 3
        let size = request.head.queryValue(named: "size").flatMap(Int.init) ?? 10
        return .stream(contentType: "application/octet-stream") { writer in
            for index in 0..<chunks {
                try await writer.write([UInt8](repeating: UInt8(truncatingIfNeeded: index), count: size))
                probe.noteProduced(size)
            }
        }
    }
    router.get("/gate-stream") { _, _ in
        // A streamed answer that is ready only when the test opens the gate (the client may be gone).
        probe.begin()
        defer { probe.end() }
        await probe.passGate()
        return .stream(contentType: "text/plain") { writer in
            do {
                try await writer.write("streamed")
                probe.noteStreamEnded("sent")
            } catch {
                probe.noteStreamEnded(String(describing: error))
                throw error
            }
        }
    }
    router.get("/big") { request, _ in
        let size = request.head.queryValue(named: "bytes").flatMap(Int.init) ?? 1024
        return HTTPResponse(contentType: "application/octet-stream", body: [UInt8](repeating: 42, count: size))
    }
    router.get("/slow") { request, _ in
        probe.begin()
        defer { probe.end() }
        let milliseconds = request.head.queryValue(named: "ms").flatMap(Int.init) ?? 100
        try await Task.sleep(for: .milliseconds(milliseconds))
        return .text("done")
    }
    router.get("/gate") { _, _ in
        // In flight until the test opens the gate: in-flight states that do not depend on timing.
        probe.begin()
        defer { probe.end() }
        await probe.passGate()
        return .text("done")
    }
    router.get("/wait-disconnect") { _, context in
        probe.begin()
        defer { probe.end() }
        // Ends only when the client goes (or after 10 s, so a broken test cannot hang).
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = Atomic<Bool>(false)
            context.onClientDisconnect {
                probe.noteDisconnect(context.requestId)
                if !once.exchange(true, ordering: .relaxed) { continuation.resume() }
            }
            Task {
                try? await Task.sleep(for: .seconds(10))
                if !once.exchange(true, ordering: .relaxed) { continuation.resume() }
            }
        }
        return .text("gone")
    }
    router.get("/sleep") { _, _ in
        probe.begin()
        defer { probe.end() }
        do {
            try await Task.sleep(for: .seconds(10))
        } catch is CancellationError {
            probe.noteDisconnect("cancelled")
            throw CancellationError()
        }
        return .text("slept")
    }
    router.get("/fail") { _, _ in
        struct Broken: Error {}
        throw Broken()
    }
    router.get("/status/{code}") { request, _ in
        throw HTTPError(HTTPStatus(code: Int(request.pathParameter("code")) ?? 500), "asked for it")
    }
    return router.withStandardMiddleware(logger: logger)
}

/// Runs `body` against a started server on 127.0.0.1 and an OS-chosen port, then shuts it down.
func withTestServer(host: String = "127.0.0.1", logger: Logger = .disabled,
                    configure: (inout HTTPServerConfiguration) -> Void = { _ in },
                    _ body: (HTTPServer, Probe) async throws -> Void) async throws {
    var configuration = HTTPServerConfiguration(host: host, port: 0)
    configure(&configuration)
    let probe = Probe()
    let server = HTTPServer(configuration: configuration, responder: makeTestApp(probe: probe, logger: logger), logger: logger)
    try server.start()
    do {
        try await body(server, probe)
    } catch {
        await server.shutdown(drainTimeout: .seconds(1))
        throw error
    }
    await server.shutdown(drainTimeout: .seconds(1))
}

/// Runs blocking client code on its own thread, so socket waits never hold a Swift concurrency thread.
func onThread<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
