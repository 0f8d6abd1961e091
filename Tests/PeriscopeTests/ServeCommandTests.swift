import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `periscope serve` as a process: it answers, drains on SIGTERM and exits 0, and refuses to start
/// with an unusable tokens file.
@Suite struct ServeCommandTests {
    static func environment(_ directory: URL, _ extra: [String: String] = [:]) -> [String: String] {
        var environment = ["HOME": directory.path, "PERISCOPE_DEMO_ENABLED": "false", "PATH": "/usr/bin:/bin"]
        environment.merge(extra) { _, new in new }
        return environment
    }

    @Test func servesThenDrainsOnSIGTERMAndExitsZero() async throws {
        let directory = try PeriscopeProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try ServeProcess(arguments: ["--port", "0", "--data-dir", directory.path + "/data", "--workers", "1"],
                                environment: Self.environment(directory))
        let port = try await server.port()
        let (health, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!)
        #expect(String(decoding: health, as: UTF8.self) == "ok\n")
        #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "X-Request-Id") != nil)
        // No models to load: ready at once.
        var ready = 0
        for _ in 0..<200 where ready != 200 {
            let (_, reply) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/readyz")!)
            ready = (reply as? HTTPURLResponse)?.statusCode ?? 0
            if ready != 200 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(ready == 200)
        #expect(FileManager.default.fileExists(atPath: directory.path + "/data/registry.sqlite3"))
        kill(server.process.processIdentifier, SIGTERM)
        #expect(await server.exitStatus() == 0)
        let log = server.logText
        #expect(log.contains(#""msg":"draining""#) && log.contains(#""msg":"service stopped""#), "\(log)")
        #expect(log.contains(#""msg":"request","method":"GET","path":"/healthz","status":200"#))
    }

    @Test func refusesToStartWithAnUnusableTokensFile() async throws {
        let directory = try PeriscopeProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokens = directory.appendingPathComponent("tokens.json")
        try Data(#"{"tokens": []}"#.utf8).write(to: tokens)
        let server = try ServeProcess(arguments: ["--port", "0", "--data-dir", directory.path + "/data"],
                                environment: Self.environment(directory, ["PERISCOPE_AUTH_TOKENS_FILE": tokens.path]))
        #expect(await server.exitStatus() == 1)
        #expect(server.logText.contains("auth_tokens_file") && server.logText.contains("non-empty"), "\(server.logText)")
    }
}
