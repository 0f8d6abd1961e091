import Synchronization
import Testing
@testable import HTTP

@Suite struct ClientDisconnectionTests {
    @Test func handlersRunOnceAndLateOnesRunAtOnce() {
        let disconnection = ClientDisconnection()
        let calls = Atomic<Int>(0)
        disconnection.onDisconnect { calls.add(1, ordering: .relaxed) }
        #expect(!disconnection.hasDisconnected)
        disconnection.signal()
        disconnection.signal()
        #expect(disconnection.hasDisconnected)
        #expect(calls.load(ordering: .relaxed) == 1)
        disconnection.onDisconnect { calls.add(10, ordering: .relaxed) }
        #expect(calls.load(ordering: .relaxed) == 11)
        let context = RequestContext(disconnection: disconnection)
        #expect(context.isClientDisconnected)
    }
}
