import Foundation
import Testing
import TestSupport

/// The tests' `ChildProcess` (posix_spawn instead of Foundation's `Process`): exit statuses and
/// signals as `Process` reports them, the termination handler, no inherited descriptors.
@Suite struct ChildProcessTests {
    private static func shell(_ script: String) -> ChildProcess {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        return process
    }

    @Test func exitStatusesAndSignalsAreReportedAsProcessReportsThem() throws {
        let exits = Self.shell("exit 3")
        try exits.run()
        exits.waitUntilExit()
        #expect(!exits.isRunning)
        #expect(exits.terminationStatus == 3 && exits.terminationReason == .exit)

        let killed = Self.shell("sleep 30")
        try killed.run()
        #expect(killed.isRunning && killed.processIdentifier > 0)
        killed.terminate()
        killed.waitUntilExit()
        #expect(killed.terminationStatus == SIGTERM && killed.terminationReason == .uncaughtSignal)
    }

    @Test func theTerminationHandlerRunsOnceTheChildExited() async throws {
        let process = Self.shell("exit 7")
        let status = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, Error>) in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        #expect(status == 7)
    }

    /// The child has the three standard streams only: a pipe this process holds open for something
    /// else does not leak into it (where it would keep that pipe's reader from seeing end of file).
    @Test func theChildInheritsOnlyTheStandardStreams() throws {
        let unrelated = Pipe()
        defer { unrelated.fileHandleForWriting.closeFile() }
        let process = Self.shell("ls /proc/$$/fd")
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let listing = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(listing.split(separator: "\n").sorted() == ["0", "1", "2"], "\(listing)")
    }

    @Test func aMissingExecutableThrowsAndStartsNothing() {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/nonexistent/periscope")
        #expect(throws: ChildProcess.Failure.self) { try process.run() }
        #expect(!process.isRunning)
    }
}
