#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An IPv4 or IPv6 socket address (address + port), as bound by the server or reported for a peer.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address family.
    public enum Family: Sendable, Hashable { case ipv4, ipv6 }

    /// The family of `host`.
    public let family: Family
    /// The numeric host, e.g. `"127.0.0.1"` or `"::1"`.
    public let host: String
    /// The port in host byte order.
    public let port: Int

    public init(family: Family, host: String, port: Int) {
        self.family = family
        self.host = host
        self.port = port
    }

    /// `host:port`, with the host in brackets for IPv6 (`[::1]:8080`).
    public var description: String {
        family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    // MARK: - Conversion from and to sockaddr

    /// Decodes a `sockaddr_in` / `sockaddr_in6` filled in by the kernel; nil for other families.
    init?(storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            var raw = address.sin_addr
            inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
            self.init(family: .ipv4, host: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                      port: Int(UInt16(bigEndian: address.sin_port)))
        case AF_INET6:
            let address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            var raw = address.sin6_addr
            inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
            self.init(family: .ipv6, host: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                      port: Int(UInt16(bigEndian: address.sin6_port)))
        default:
            return nil
        }
    }

    /// Parses a numeric IPv4 or IPv6 host (`"0.0.0.0"`, `"::"`, `"[::1]"`); `"localhost"` means
    /// `127.0.0.1`. Names are not resolved: a server binds to addresses.
    public init(host: String, port: Int) throws(HTTPServerError) {
        guard (0...65535).contains(port) else { throw .invalidPort(port) }
        var name = host
        if name == "localhost" { name = "127.0.0.1" }
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            self.init(family: .ipv4, host: name, port: port)
        } else if inet_pton(AF_INET6, name, &v6) == 1 {
            self.init(family: .ipv6, host: name, port: port)
        } else {
            throw .invalidHost(host)
        }
    }

    /// Calls `body` with this address as a `sockaddr` pointer and its length.
    func withSocketAddress<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemCallError) -> Result) throws(SystemCallError) -> Result {
        switch family {
        case .ipv4:
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            return try withUnsafePointer(to: &address) { (pointer) throws(SystemCallError) -> Result in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(SystemCallError) -> Result in
                    try body(raw, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .ipv6:
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = UInt16(port).bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            return try withUnsafePointer(to: &address) { (pointer) throws(SystemCallError) -> Result in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(SystemCallError) -> Result in
                    try body(raw, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }
}
