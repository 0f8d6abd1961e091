import CFuzzerDriver

/// Runs libFuzzer with the process's command line (every libFuzzer flag works: `-runs=`,
/// `-max_total_time=`, a corpus directory, or crash files to replay) and `testOneInput` as the
/// target; exits with libFuzzer's status.
///
/// SwiftPM links every executable with a `main` of its own, so the `main` in libclang_rt.fuzzer
/// is never used; calling `LLVMFuzzerRunDriver` from ours is libFuzzer's documented alternative.
public func runLibFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv, testOneInput)
    exit(status)
}

/// Stops the fuzzer with a finding: a broken invariant rather than a memory error. libFuzzer
/// records the input as a crash artifact because the process dies.
public func invariantFailure(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError("fuzz invariant broken: \(message)", file: file, line: line)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
