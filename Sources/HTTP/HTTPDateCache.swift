import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The `Date` header line, formatted at most once per second for all threads.
final class HTTPDateCache: Sendable {
    static let shared = HTTPDateCache()

    private let cache = Mutex<(second: Int, line: [UInt8])>((-1, []))

    /// `Date: <IMF-fixdate>\r\n` for the current second.
    func headerLine() -> [UInt8] {
        let now = time(nil)
        return cache.withLock { cache in
            if cache.second != now {
                cache = (now, Array("Date: \(httpDate(now))\r\n".utf8))
            }
            return cache.line
        }
    }
}
