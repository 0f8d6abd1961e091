import Testing
@testable import HTTP

@Suite struct SocketAddressTests {
    @Test(arguments: [("127.0.0.1", SocketAddress.Family.ipv4, "127.0.0.1:80"), ("::1", .ipv6, "[::1]:80"),
                      ("[::]", .ipv6, "[::]:80"), ("localhost", .ipv4, "127.0.0.1:80"), ("0.0.0.0", .ipv4, "0.0.0.0:80")])
    func parsesNumericHosts(host: String, family: SocketAddress.Family, description: String) throws {
        let address = try SocketAddress(host: host, port: 80)
        #expect(address.family == family)
        #expect(address.description == description)
    }

    @Test func rejectsNamesAndBadPorts() {
        #expect(throws: HTTPServerError.invalidHost("example.com")) { try SocketAddress(host: "example.com", port: 80) }
        #expect(throws: HTTPServerError.invalidPort(-1)) { try SocketAddress(host: "127.0.0.1", port: -1) }
    }
}
