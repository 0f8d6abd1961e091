import Testing
import Registry

@Suite struct ModelStatusTests {
    static let all: [ModelStatus] = [.registered, .loading, .ready, .failed(reason: "x"), .unloaded]

    @Test(arguments: all)
    func transitionsFollowTheLifecycle(from: ModelStatus) {
        let allowed = Set(Self.all.filter { from.canTransition(to: $0) }.map(\.name))
        let expected: Set<String> = switch from {
        case .registered, .unloaded: ["loading", "failed"]
        case .failed: ["loading", "failed"]
        case .loading: ["ready", "failed", "unloaded"]
        case .ready: ["unloaded", "failed"]
        }
        #expect(allowed == expected)
    }

    @Test func failedCarriesItsReason() {
        #expect(ModelStatus.failed(reason: "bad hash").reason == "bad hash")
        #expect(ModelStatus.ready.reason == nil)
        #expect(ModelStatus.failed(reason: "bad hash").description == "failed (bad hash)")
    }
}
