import NN
import Tensors
import Testing
import TestSupport

/// The inference paths of Linear, Conv2d and MultiheadAttention (packed weights shared through
/// `PackedWeightCache`; attention from one packed q|k|v GEMM without head permutes) give PyTorch's
/// numbers, like the autograd paths they stand in for.
@Suite struct InferenceFastPathTests {
    @Test(arguments: ["linear", "linear_nobias"])
    func linearMatchesPyTorchWithoutAutograd(_ name: String) throws {
        let reference = try #require(LayerFixtures.modules[name])
        let linear = Linear(inFeatures: 5, outFeatures: 3, bias: name == "linear")
        guard linear.stateDict().keys == reference.stateKeys else {
            Issue.record("fixture \(name) is not a Linear(5, 3)")
            return
        }
        try linear.loadStateDict(try LayerFixtures.stateDict(name))
        let input = try LayerFixtures.tensor(name, "input0"), expected = try LayerFixtures.tensor(name, "output0")
        let fast = try GradMode.withDisabled { try linear(input) }
        #expect(fast.gradientNode == nil)
        #expect(isClose(fast, expected, tolerance: 1e-5))
        #expect(isClose(try linear(input), expected, tolerance: 1e-5))
    }

    @Test func convolutionMatchesPyTorchWithoutAutograd() throws {
        let conv = Conv2d(inChannels: 4, outChannels: 6, kernelSize: 3, stride: 2, padding: 1)  // the fixture's layer
        #expect(conv.description == LayerFixtures.modules["conv"]?.repr)
        try conv.loadStateDict(try LayerFixtures.stateDict("conv"))
        let input = try LayerFixtures.tensor("conv", "input0"), expected = try LayerFixtures.tensor("conv", "output0")
        #expect(isClose(try GradMode.withDisabled { try conv(input) }, expected, tolerance: 1e-5))
        #expect(isClose(try conv(input), expected, tolerance: 1e-5))
    }

    /// Batch-first self-attention takes the packed path (query, key and value the same tensor).
    @Test func selfAttentionMatchesPyTorchOnThePackedPath() throws {
        let name = "mha_self_batch_first"
        let attention = MultiheadAttention(embedDimension: 8, headCount: 4, batchFirst: true).eval()
        try attention.loadStateDict(try LayerFixtures.stateDict(name))
        let x = try LayerFixtures.tensor(name, "input0")
        let expected = try LayerFixtures.tensor(name, "output0")
        try GradMode.withDisabled {
            let fast = try attention(query: x, key: x, value: x, needWeights: false)
            #expect(fast.weights == nil)
            #expect(isClose(fast.output, expected, tolerance: 1e-5))
            // needWeights takes the general path: same output.
            #expect(isClose(try attention(query: x, key: x, value: x, needWeights: true).output, fast.output, tolerance: 1e-6))
            // A key padding mask on the packed path equals the general path's.
            let mask = Tensor(shape: [x.shape[0], x.shape[1]], elements: (0..<(x.shape[0] * x.shape[1])).map { $0 % 4 == 3 })
            let masked = try attention(query: x, key: x, value: x, keyPaddingMask: mask, needWeights: false).output
            let general = try attention(query: x, key: x, value: x, keyPaddingMask: mask, needWeights: true).output
            #expect(isClose(masked, general, tolerance: 1e-6))
        }
    }

    /// Linear → GELU in a Sequential runs as one GEMM with GELU in its epilogue: exactly the values
    /// of the two layers run one by one (a hook on the GELU forces that), for both approximations,
    /// with a ragged last dimension and rows that cross the GEMM's blocks.
    @Test(arguments: [GELUApproximation.none, .tanh])
    func linearThenGELUFusesWithoutChangingValues(approximation: GELUApproximation) throws {
        let block = withRandomSeed(9) { Sequential(Linear(inFeatures: 37, outFeatures: 83), GELU(approximation: approximation), Linear(inFeatures: 83, outFeatures: 5)) }
        let x = randomTensor([3, 70, 37], seed: 10) * 2
        try GradMode.withDisabled {
            let fused = try block(x)
            let gelu = block[1]
            nonisolated(unsafe) var seen: Tensor?
            let handle = gelu.registerForwardHook { _, _, output in seen = output; return nil }
            let unfused = try block(x)
            handle.remove()
            #expect(fused.toArray() == unfused.toArray())
            let hidden = try block[0](x).gelu(approximation: approximation)
            #expect(seen?.toArray() == hidden.toArray())
        }
    }

    @Test func packedPathRejectsBadMasks() throws {
        let attention = withRandomSeed(3) { MultiheadAttention(embedDimension: 4, headCount: 2, batchFirst: true) }.eval()
        let x = randomTensor([2, 3, 4], seed: 4)
        _ = GradMode.withDisabled {
            #expect(throws: ModuleError.self) {
                try attention(query: x, key: x, value: x, keyPaddingMask: Tensor(zeros: [2, 4], dtype: .bool), needWeights: false)
            }
        }
    }
}
