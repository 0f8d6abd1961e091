import NN
import Tensors
import Testing
import TestSupport

// Attention hooks (`AttentionReporting`): `MultiheadAttention` reports the per-head weights of its
// general path while keeping the fast path's output, and `captureAttention` collects them per call.

@Suite struct AttentionHookTests {
    /// An attention hook on `nn.MultiheadAttention` sees the per-head weights of the general path
    /// (what `needWeights: true, averageAttentionWeights: false` returns), even when the caller asks
    /// for none, and the output stays the fast path's. The handle removes it.
    @Test func multiheadAttentionReportsPerHeadWeightsToItsHook() throws {
        let attention = withRandomSeed(21) { MultiheadAttention(embedDimension: 8, headCount: 2, batchFirst: true) }.eval()
        let x = randomTensor([2, 5, 8], seed: 22)
        try GradMode.withDisabled {
            let fast = try attention(query: x, key: x, value: x, needWeights: false).output
            let weights = try #require(try attention(query: x, key: x, value: x, needWeights: true, averageAttentionWeights: false).weights)
            nonisolated(unsafe) var seen: [Tensor] = []
            let handle = attention.registerAttentionHook { _, probabilities in seen.append(probabilities) }
            #expect(attention.hasAttentionHooks && attention.hookCount == 1)
            let hooked = try attention(query: x, key: x, value: x, needWeights: false)
            #expect(hooked.weights == nil && isClose(hooked.output, fast, tolerance: 1e-6))
            #expect(seen.count == 1 && seen[0].shape == [2, 2, 5, 5] && isClose(seen[0], weights, tolerance: 1e-7))
            handle.remove()
            #expect(!attention.hasAttentionHooks && attention.hookCount == 0)
            _ = try attention(query: x, key: x, value: x, needWeights: false)
            #expect(seen.count == 1)
        }
    }

    /// `captureAttention` names calls as captures do and keeps no hooks.
    @Test func captureAttentionNamesRepeatedCalls() throws {
        let attention = withRandomSeed(23) { MultiheadAttention(embedDimension: 4, headCount: 2, batchFirst: true) }.eval()
        let model = Sequential([Identity()])
        let tree = ModuleList([attention])
        let x = randomTensor([1, 3, 4], seed: 24)
        let captured = try tree.captureAttention {
            _ = try attention(query: x, key: x, value: x, needWeights: false)
            _ = try attention(query: x, key: x, value: x, needWeights: false)
        }
        #expect(captured.map(\.name) == ["0", "0_1"] && tree.hookCount == 0)
        #expect(try model.captureAttention { _ = try model(x) }.isEmpty)
    }
}
