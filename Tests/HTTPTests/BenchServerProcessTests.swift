import Foundation
import Testing
import TestSupport

/// The server as a process: `periscope-http-bench` (built with the tests) serves, and SIGTERM
/// drains it and ends the process with status 0 — what an orchestrator relies on.
@Suite struct BenchServerProcessTests {
    private var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("periscope-http-bench")
    }

    @Test func sigtermDrainsAndExitsZero() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: executable.path), "missing \(executable.path)")
        let process = ChildProcess()
        process.executableURL = executable
        process.arguments = ["--port", "0"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // "listening on <port>"
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            try #require(!chunk.isEmpty, "the server exited before listening")
            line.append(chunk)
        }
        let port = try #require(String(decoding: line, as: UTF8.self).split(separator: " ").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        let response = try await onThread { try TestConnection(port: port).request("GET", "/healthz") }
        #expect(response.status == 200 && response.text == "ok\n")
        process.terminate()  // SIGTERM
        let status = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, process.terminationReason))
            }
        }
        #expect(status.0 == 0 && status.1 == .exit)
    }
}
