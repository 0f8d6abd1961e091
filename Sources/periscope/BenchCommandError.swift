#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why `periscope bench` could not hand over to the `periscope-bench` executable.
enum BenchCommandError: Error, CustomStringConvertible {
    /// No executable at `path`, next to `periscope`.
    case missingExecutable(path: String)
    /// `execv` of `path` failed with `errno` `code`.
    case cannotRun(path: String, code: Int32)

    var description: String {
        switch self {
        case .missingExecutable(let path):
            "bench: no benchmark executable at \(path) (the benchmarks are built apart from periscope: "
                + "swift build --product \(BenchCommand.executableName))"
        case .cannotRun(let path, let code):
            "bench: cannot run \(path): \(String(cString: strerror(code)))"
        }
    }
}
