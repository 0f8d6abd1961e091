#if canImport(Glibc)
import Glibc
#endif

/// A client that writes raw bytes to the service and hangs up, for the tests of clients that leave.
enum RawSocket {
    enum Failure: Error { case system(String, Int32) }

    /// Connects to 127.0.0.1:`port`, sends `bytes`, and closes the connection without reading.
    static func sendAndClose(port: Int, _ bytes: [UInt8]) throws {
        close(try send(port: port, bytes))
    }

    /// Connects to 127.0.0.1:`port` and sends `bytes`; returns the open descriptor, which the
    /// caller closes (`close`) to hang up.
    static func send(port: Int, _ bytes: [UInt8]) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure.system("socket", errno) }
        do {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw Failure.system("connect", errno) }
            var sent = 0
            while sent < bytes.count {
                let count = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard count > 0 else { throw Failure.system("send", errno) }
                sent += count
            }
            return descriptor
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// Connects to 127.0.0.1:`port`, sends `request` (which should ask for `Connection: close`) and
    /// returns everything the server writes until it closes the connection.
    static func exchange(port: Int, _ request: String) throws -> String {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure.system("socket", errno) }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure.system("connect", errno) }
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            throw Failure.system("send", errno)
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            received += buffer[..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// An HTTP/1.1 POST of a JSON body.
    static func post(path: String, json: String) -> [UInt8] {
        let body = Array(json.utf8)
        return Array("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
    }
}
