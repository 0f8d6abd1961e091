import Foundation
import Testing
import TestSupport

/// `periscope bench …` runs the `periscope-bench` executable next to `periscope` with the same
/// arguments (the drivers themselves: BenchModelCommandTests), and says so plainly when it is absent.
@Suite struct BenchCommandTests {
    @Test func argumentsReachTheBenchmarkExecutable() async throws {
        try await onDedicatedThread {
            let none = try PeriscopeProcess.run(["bench"])
            #expect(none.status == 1)
            #expect(none.standardError == "periscope: missing argument: what to benchmark (kernels, model)\n")
            let typo = try PeriscopeProcess.run(["bench", "kernels", "--repetitions", "2", "--no-such-option"])
            #expect(typo.status == 1)
            #expect(typo.standardError == "periscope: unexpected arguments: --no-such-option\n")
            let unknown = try PeriscopeProcess.run(["bench", "gpu"])
            #expect(unknown.standardError == "periscope: unknown command 'bench gpu'\n")
            // Counts and durations must be above zero, and the error names the option.
            for (arguments, option, value, expected) in [
                (["kernels", "--seconds", "0"], "seconds", "0", "a positive number"),
                (["kernels", "--repetitions", "-2"], "repetitions", "-2", "a positive integer"),
                (["encode", "--seconds", "soon"], "seconds", "soon", "a positive number"),
                (["model", "--architecture", "mlp", "--batch", "0"], "batch", "0", "a positive integer"),
            ] {
                let outcome = try PeriscopeProcess.run(["bench"] + arguments)
                #expect(outcome.status == 1)
                #expect(outcome.standardError.contains("--\(option)") && outcome.standardError.contains(value)
                        && outcome.standardError.contains(expected), "\(arguments): \(outcome.standardError)")
            }
        }
    }

    @Test func aMissingBenchmarkExecutableIsAOneLineError() async throws {
        try await onDedicatedThread {
            // A copy of `periscope` alone in a directory, as in the container image.
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let copy = directory.appendingPathComponent("periscope")
            try FileManager.default.copyItem(at: PeriscopeProcess.executable, to: copy)
            let outcome = try PeriscopeProcess.run(["bench", "kernels"], executable: copy)
            #expect(outcome.status == 1)
            #expect(outcome.standardError.hasPrefix("periscope: bench: no benchmark executable at \(directory.path)/periscope-bench"),
                    "\(outcome.standardError)")
            #expect(outcome.standardError.contains("swift build --product periscope-bench"))
            #expect(outcome.standardError.split(separator: "\n").count == 1)
        }
    }
}
