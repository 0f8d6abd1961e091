#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: the function's name and `errno`.
public struct SystemCallError: Error, CustomStringConvertible, Equatable {
    /// The system call that failed, e.g. `"bind"`.
    public let function: String
    /// `errno` after the call.
    public let code: Int32

    public init(function: String, code: Int32) {
        self.function = function
        self.code = code
    }

    public var description: String {
        "\(function) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}
