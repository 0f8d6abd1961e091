import Testing
@testable import HTTP

@Suite struct HTTPServerConfigurationTests {
    @Test func defaultsAreValid() throws {
        try HTTPServerConfiguration().validate()
        #expect(HTTPServerConfiguration().handlerThreads >= 1)
    }

    @Test(arguments: [
        ("port", { @Sendable (c: inout HTTPServerConfiguration) in c.port = 70000 }),
        ("backlog", { @Sendable (c: inout HTTPServerConfiguration) in c.backlog = 0 }),
        ("maxConnections", { @Sendable (c: inout HTTPServerConfiguration) in c.maxConnections = 0 }),
        ("idleTimeout", { @Sendable (c: inout HTTPServerConfiguration) in c.idleTimeout = .zero }),
        ("limits.maxHeadSize", { @Sendable (c: inout HTTPServerConfiguration) in c.limits.maxHeadSize = 10 }),
        ("serverName", { @Sendable (c: inout HTTPServerConfiguration) in c.serverName = "bad\r\nname" }),
    ] as [(String, @Sendable (inout HTTPServerConfiguration) -> Void)])
    func invalidValuesNameTheirField(field: String, change: @Sendable (inout HTTPServerConfiguration) -> Void) {
        var configuration = HTTPServerConfiguration()
        change(&configuration)
        do {
            try configuration.validate()
            Issue.record("\(field) should be rejected")
        } catch {
            guard case .invalidConfiguration(let named, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(named == field)
        }
    }

    @Test func tickFollowsTheShortestTimeout() {
        var configuration = HTTPServerConfiguration()
        #expect(configuration.tickInterval == .milliseconds(100))
        configuration.headerReadTimeout = .milliseconds(80)
        #expect(configuration.tickInterval == .milliseconds(10))
    }
}
