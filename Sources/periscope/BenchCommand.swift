import CommandLineSupport
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// `periscope bench …`: the benchmark drivers are a separate executable, `periscope-bench`, so the
// production binary (and the container image, which ships only `periscope`) carries none of them.
// The subcommand stays, for people and scripts (scripts/bench-models): it runs `periscope-bench`
// from this executable's directory in place of this process, with the same arguments.

/// The `bench` subcommand: replaces this process with `periscope-bench`.
enum BenchCommand {
    static let usage = "bench kernels [--repetitions N] [--seconds S] [--only gemm|conv|paths|depthwise|precision] [--no-numpy]\n"
        + "  bench encode [--repetitions N] [--seconds S] [--no-orjson]\n"
        + "  bench model " + ModelSource.usage
        + " (--batch B [--seq S] [--image-size N] | --input IN.safetensors) --iterations N [--warmup W] [--threads T] [--precision P[,P…]] [--without-fusion] [--profile-layers]"

    /// The benchmark executable's name; SwiftPM builds it next to `periscope`.
    static let executableName = "periscope-bench"

    /// Runs `periscope-bench` with the words after `bench`; returns only when it cannot.
    static func run(_ arguments: inout CommandLineArguments) throws {
        let path = executableDirectory().appendingPathComponent(executableName).path
        guard access(path, X_OK) == 0 else { throw BenchCommandError.missingExecutable(path: path) }
        let words = [path] + arguments.remainingWords()
        let argv = words.map { strdup($0) } + [nil]
        defer { for word in argv { free(word) } }
        execv(path, argv)
        throw BenchCommandError.cannotRun(path: path, code: errno)
    }

    /// The directory of the running `periscope` (`/proc/self/exe`: the binary itself, also when it
    /// was started through `$PATH` or a symlink).
    private static func executableDirectory() -> URL {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: path).deletingLastPathComponent()
    }
}
