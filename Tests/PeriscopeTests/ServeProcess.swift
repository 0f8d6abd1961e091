import Foundation
import TestSupport
import Synchronization

/// A `periscope serve` child process whose standard error (the JSON log) is collected.
final class ServeProcess: Sendable {
    let process: ChildProcess
    private let log = LogBuffer()

    init(arguments: [String], environment: [String: String]) throws {
        process = ChildProcess()
        process.executableURL = PeriscopeProcess.executable
        process.arguments = ["serve"] + arguments
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        errors.fileHandleForReading.readabilityHandler = { [log] handle in log.append(handle.availableData) }
        try process.run()
    }

    var logText: String { log.text }

    /// The port from the "service started" line, once it is logged.
    func port(timeout: Duration = .seconds(120)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for line in logText.split(separator: "\n") where line.contains("\"service started\"") {
                if let range = line.range(of: #""address":"127.0.0.1:"#),
                   let port = Int(line[range.upperBound...].prefix { $0.isNumber }) { return port }
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failure.noStartLine(logText)
    }

    /// Waits for the process to exit (off the cooperative pool) and returns its status.
    func exitStatus() async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { [process] in
                process.waitUntilExit()
                continuation.resume(returning: process.terminationStatus)
            }
        }
    }

    enum Failure: Error { case noStartLine(String) }
}

/// Text appended from a pipe's reading thread.
final class LogBuffer: Sendable {
    private let storage = Mutex("")

    func append(_ data: Data) { storage.withLock { $0 += String(decoding: data, as: UTF8.self) } }

    var text: String { storage.withLock { $0 } }
}
