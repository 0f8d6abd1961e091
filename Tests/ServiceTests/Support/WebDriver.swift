import Foundation
import TestSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A small W3C WebDriver client for the browser tests: starts `chromedriver` on a port the OS
/// chooses, opens a headless Chromium session with a 1280×800 viewport, and sends commands as HTTP
/// JSON over loopback sockets (one `Connection: close` exchange per command, on its own thread: the
/// Linux URLSession rejects chromedriver's `Content-Length:252` header lines). Scripts return JSON
/// text (`JSON.stringify`), decoded here with `JSONDecoder`.
///
/// Chromium and chromedriver are Debian's `chromium` and `chromium-driver` packages (`.ci/run`
/// installs them); `PERISCOPE_CHROMIUM` and `PERISCOPE_CHROMEDRIVER` override the paths. When they
/// are missing, `start` throws: the browser tests fail, they never skip.
final class WebDriver {
    enum Failure: Error, CustomStringConvertible {
        case missing(String)
        case startup(String)
        case command(String, String)
        case timeout(String)

        var description: String {
            switch self {
            case .missing(let what): "\(what) is not installed: apt-get install -y chromium chromium-driver (see .ci/run)"
            case .startup(let message): "chromedriver did not start: \(message)"
            case .command(let command, let message): "WebDriver \(command): \(message)"
            case .timeout(let what): "timed out waiting for \(what)"
            }
        }
    }

    /// `PERISCOPE_WEBDRIVER_TRACE=1` prints every command on stderr (to see where a test waits).
    private static let tracing = ProcessInfo.processInfo.environment["PERISCOPE_WEBDRIVER_TRACE"] == "1"

    /// The W3C key of an element reference.
    private static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

    private let process: ChildProcess
    private let port: Int
    private var sessionId = ""

    private init(process: ChildProcess, port: Int) {
        self.process = process
        self.port = port
    }

    /// Starts chromedriver and a headless Chromium session. Call `quit()` when done (also on failure).
    static func start(windowWidth: Int = 1280, windowHeight: Int = 800) async throws -> WebDriver {
        let environment = ProcessInfo.processInfo.environment
        let chromium = try executable(environment["PERISCOPE_CHROMIUM"], candidates: ["chromium", "chromium-browser", "google-chrome"], name: "Chromium")
        let driverPath = try executable(environment["PERISCOPE_CHROMEDRIVER"], candidates: ["chromedriver"], name: "chromedriver")
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: driverPath)
        process.arguments = ["--port=0"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // chromedriver prints "ChromeDriver was started successfully on port N." once it listens.
        let port: Int
        do {
            port = try await Self.announcedPort(output.fileHandleForReading, process: process, timeout: .seconds(60))
        } catch {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw error
        }
        let driver = WebDriver(process: process, port: port)
        do {
            let arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                             "--force-device-scale-factor=1", "--window-size=\(windowWidth),\(windowHeight)", "--no-first-run",
                             "--disable-extensions", "--disable-background-networking", "--force-color-profile=srgb"]
            let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
                "browserName": "chrome",
                "goog:chromeOptions": ["binary": chromium, "args": arguments],
                "goog:loggingPrefs": ["browser": "ALL"],
                "timeouts": ["script": 120_000, "pageLoad": 120_000],
            ]]]
            let value = try await driver.send("POST", "/session", capabilities)
            guard let id = (value as? [String: Any])?["sessionId"] as? String else { throw Failure.startup("no session id in \(value)") }
            driver.sessionId = id
        } catch {
            await driver.stopProcess()
            throw error
        }
        return driver
    }

    /// Closes the browser and stops chromedriver.
    func quit() async {
        if !sessionId.isEmpty { _ = try? await send("DELETE", "/session/\(sessionId)", nil) }
        await stopProcess()
    }

    /// chromedriver ignores SIGTERM: it is asked to shut down (`GET /shutdown`), then killed.
    private func stopProcess() async {
        guard process.isRunning else { return }
        _ = try? await send("GET", "/shutdown", nil)
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    // MARK: - Commands

    /// Sizes the window so that the page's viewport (and so every screenshot) is `width × height`.
    func setViewport(width: Int, height: Int) async throws {
        _ = try await command("POST", "/window/rect", ["width": width, "height": height])
        let inner = try await evaluate("return [window.innerWidth, window.innerHeight];", as: [Int].self)
        guard inner != [width, height] else { return }
        _ = try await command("POST", "/window/rect", ["width": 2 * width - inner[0], "height": 2 * height - inner[1]])
    }

    func navigate(to url: String) async throws {
        _ = try await command("POST", "/url", ["url": url])
    }

    /// Runs `body` (a function body that returns a value) and decodes its JSON-encoded result.
    func evaluate<Result: Decodable>(_ body: String, arguments: [String] = [], as type: Result.Type = Result.self) async throws -> Result {
        let script = "return JSON.stringify((function () { \(body) }).apply(null, arguments));"
        let value = try await command("POST", "/execute/sync", ["script": script, "args": arguments])
        guard let text = value as? String else { throw Failure.command("execute", "the script returned nothing: \(body.prefix(120))") }
        return try JSONDecoder().decode(Result.self, from: Data(text.utf8))
    }

    /// Runs `body` for its effect.
    func run(_ body: String, arguments: [String] = []) async throws {
        _ = try await command("POST", "/execute/sync", ["script": body, "args": arguments])
    }

    /// Polls `condition` (a JavaScript expression) until it is truthy.
    func waitFor(_ condition: String, timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await evaluate("return Boolean(\(condition));", as: Bool.self) { return }
            try await Task.sleep(for: .milliseconds(150))
        }
        throw Failure.timeout(condition)
    }

    func click(_ selector: String) async throws {
        let element = try await find(selector)
        _ = try await command("POST", "/element/\(element)/click", [String: String]())
    }

    /// Types `text` into the element (for a file input: the file's path).
    func type(_ text: String, into selector: String) async throws {
        let element = try await find(selector)
        _ = try await command("POST", "/element/\(element)/value", ["text": text])
    }

    /// A PNG of the viewport.
    func screenshot() async throws -> Data {
        guard let text = try await command("GET", "/screenshot", nil) as? String, let data = Data(base64Encoded: text) else {
            throw Failure.command("screenshot", "no image")
        }
        return data
    }

    /// The browser's console entries since the last call: (level, message).
    func browserLog() async throws -> [(level: String, message: String)] {
        let value = try await command("POST", "/se/log", ["type": "browser"])
        return (value as? [[String: Any]] ?? []).map { (($0["level"] as? String) ?? "", ($0["message"] as? String) ?? "") }
    }

    private func find(_ selector: String) async throws -> String {
        let value = try await command("POST", "/element", ["using": "css selector", "value": selector])
        guard let id = (value as? [String: Any])?[Self.elementKey] as? String else { throw Failure.command("find", "no element \(selector)") }
        return id
    }

    // MARK: - Transport

    private func command(_ method: String, _ path: String, _ body: Any?) async throws -> Any {
        try await send(method, "/session/\(sessionId)" + path, body)
    }

    /// Sends a command; returns its `value`, or throws with the driver's error message.
    private func send(_ method: String, _ path: String, _ body: Any?) async throws -> Any {
        if Self.tracing { FileHandle.standardError.write(Data("webdriver: \(method) \(path)\n".utf8)) }
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let port = self.port
        let (status, data) = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Int, Data), any Error>) in
            Thread { continuation.resume(with: Result { try Self.exchange(port: port, method: method, path: path, body: payload) }) }.start()
        }
        let object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        let value = (object as? [String: Any])?["value"] ?? NSNull()
        if status != 200 {
            let message = ((value as? [String: Any])?["message"] as? String) ?? String(decoding: data.prefix(500), as: UTF8.self)
            throw Failure.command("\(method) \(path)", message)
        }
        return value
    }

    /// One blocking HTTP/1.1 exchange with 127.0.0.1:`port`: the status and the body.
    private static func exchange(port: Int, method: String, path: String, body: Data?) throws -> (Int, Data) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure.command(path, "socket: errno \(errno)") }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 180, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure.command(path, "connect: errno \(errno)") }
        var request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n".utf8)
        if let body {
            request += Array("Content-Type: application/json; charset=utf-8\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + Array(body)
        } else {
            request += Array("Content-Length: 0\r\n\r\n".utf8)
        }
        var sent = 0
        while sent < request.count {
            let count = request[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw Failure.command(path, "send: errno \(errno)") }
            sent += count
        }
        // chromedriver keeps the connection open whatever the request says: read the header, then
        // exactly Content-Length bytes (or chunks up to the last one, or until the peer closes).
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        var contentLength: Int?
        var chunked = false
        while true {
            if let headerEnd {
                let bodyCount = received.count - headerEnd
                if let contentLength, bodyCount >= contentLength { break }
                if chunked && received.suffix(5).elementsEqual([48, 13, 10, 13, 10]) { break }
            }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw Failure.command(path, "recv: errno \(errno) (timed out?)") }
            if count == 0 { break }
            received += buffer[..<count]
            if headerEnd == nil, let end = Self.headerEnd(received) {
                headerEnd = end
                for line in String(decoding: received[..<end], as: UTF8.self).split(separator: "\r\n").dropFirst() {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2 else { continue }
                    let name = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
                    let value = parts[1].trimmingCharacters(in: .whitespaces)
                    if name == "content-length" { contentLength = Int(value) }
                    if name == "transfer-encoding" && value.lowercased().contains("chunked") { chunked = true }
                }
            }
        }
        guard let headerEnd else { throw Failure.command(path, "malformed response") }
        let head = String(decoding: received[..<headerEnd], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n").first ?? ""
        guard let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { throw Failure.command(path, "bad status line \(statusLine)") }
        var content = Array(received[headerEnd...])
        if let contentLength { content = Array(content.prefix(contentLength)) }
        if chunked { content = dechunked(content) }
        return (status, Data(content))
    }

    /// The index just past the blank line ending the header section, once it has arrived.
    private static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }

    private static func dechunked(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = (index..<(bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }),
                  let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
            let start = lineEnd + 2
            result += bytes[start..<min(start + size, bytes.count)]
            index = start + size + 2
        }
        return result
    }

    // MARK: - Start-up helpers

    private static func executable(_ override: String?, candidates: [String], name: String) throws -> String {
        if let override, !override.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: override) else { throw Failure.missing("\(name) at \(override)") }
            return override
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/lib/chromium"] {
            for candidate in candidates {
                let full = "\(directory)/\(candidate)"
                if FileManager.default.isExecutableFile(atPath: full) { return full }
            }
        }
        throw Failure.missing(name)
    }

    /// What chromedriver prints; drained all along so that a full pipe never blocks it.
    private final class Output: Sendable {
        let text = Mutex("")
    }

    private static func announcedPort(_ handle: FileHandle, process: ChildProcess, timeout: Duration) async throws -> Int {
        let output = Output()
        handle.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }
            output.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = output.text.withLock { $0 }
            if let match = text.firstMatch(of: /started successfully on port (\d+)/), let port = Int(match.output.1) { return port }
            guard process.isRunning else { throw Failure.startup("exited before listening: \(text)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure.startup("no port announced after \(timeout)")
    }
}
