#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs a system call that reports failure as `-1` + `errno`, the one place where `EINTR` and
/// `EAGAIN` are handled: an interrupted call is retried (a signal must never surface as an error),
/// a call that would block on a non-blocking descriptor returns `nil`, and any other failure throws.
///
/// Every socket and descriptor call in this module goes through here.
@discardableResult
@inline(__always)
func syscall<Result: FixedWidthInteger>(
    _ function: StaticString, _ call: () -> Result
) throws(SystemCallError) -> Result? {
    while true {
        let result = call()
        if result != -1 { return result }
        let code = errno
        switch code {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK: return nil
        default: throw SystemCallError(function: "\(function)", code: code)
        }
    }
}

/// Ignores `SIGPIPE` for the whole process, once: writing to a socket whose peer has gone must be
/// an `EPIPE` error on that connection, never the default action of killing the server.
let ignoreBrokenPipeSignal: Void = {
    signal(SIGPIPE, SIG_IGN)
}()
