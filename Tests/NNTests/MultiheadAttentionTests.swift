import NN
import Tensors
import Testing
import TestSupport

struct AttentionCase: CustomTestStringConvertible, Sendable {
    let name: String
    let make: @Sendable () -> MultiheadAttention
    var needWeights = true
    var averageWeights = true
    var testDescription: String { name }

    static let all: [AttentionCase] = [
        .init(name: "mha") { MultiheadAttention(embedDimension: 8, headCount: 2) },
        .init(name: "mha_self_batch_first", make: { MultiheadAttention(embedDimension: 8, headCount: 4, batchFirst: true) }, averageWeights: false),
        .init(name: "mha_masks") { MultiheadAttention(embedDimension: 8, headCount: 2) },
        .init(name: "mha_float_mask_noweights", make: { MultiheadAttention(embedDimension: 8, headCount: 2, bias: false) }, needWeights: false),
        .init(name: "mha_kvdim") { MultiheadAttention(embedDimension: 8, headCount: 2, keyDimension: 6, valueDimension: 3) },
        .init(name: "mha_unbatched") { MultiheadAttention(embedDimension: 8, headCount: 2) },
    ]
}

@Suite struct MultiheadAttentionTests {
    @Test(arguments: AttentionCase.all)
    func matchesPyTorch(_ testCase: AttentionCase) throws {
        let attention = testCase.make().eval()
        let reference = try #require(LayerFixtures.modules[testCase.name])
        #expect(attention.description == reference.repr)
        #expect(attention.stateDict().keys == reference.stateKeys)
        try attention.loadStateDict(try LayerFixtures.stateDict(testCase.name))
        let keyPaddingMask = LayerFixtures.hasTensor(testCase.name, "key_padding_mask") ? try LayerFixtures.tensor(testCase.name, "key_padding_mask") : nil
        let attentionMask = LayerFixtures.hasTensor(testCase.name, "attn_mask") ? try LayerFixtures.tensor(testCase.name, "attn_mask") : nil
        let (output, weights) = try attention(query: try LayerFixtures.tensor(testCase.name, "input0"),
                                              key: try LayerFixtures.tensor(testCase.name, "input1"),
                                              value: try LayerFixtures.tensor(testCase.name, "input2"),
                                              keyPaddingMask: keyPaddingMask, needWeights: testCase.needWeights,
                                              attentionMask: attentionMask, averageAttentionWeights: testCase.averageWeights)
        #expect(isClose(output, try LayerFixtures.tensor(testCase.name, "output0"), tolerance: 1e-5))
        if testCase.needWeights {
            let expected = try LayerFixtures.tensor(testCase.name, "output1")
            #expect(isClose(try #require(weights), expected, tolerance: 1e-5))
        } else {
            #expect(weights == nil)
        }
    }

    @Test func biasOffHasNoBiasKeysAndRuns() throws {
        let attention = MultiheadAttention(embedDimension: 4, headCount: 1, bias: false)
        #expect(attention.stateDict().keys == ["in_proj_weight", "out_proj.weight"])
        let x = randomTensor([2, 1, 4], seed: 1)
        #expect(try attention(query: x, key: x, value: x).output.shape == [2, 1, 4])
    }

    @Test func fullyMaskedQueriesGiveZerosInsteadOfNaN() throws {
        let attention = withRandomSeed(2) { MultiheadAttention(embedDimension: 4, headCount: 2, batchFirst: true) }
        let x = randomTensor([1, 3, 4], seed: 3)
        let mask = Tensor(shape: [1, 3], elements: [true, true, true])
        let (output, weights) = try attention(query: x, key: x, value: x, keyPaddingMask: mask)
        #expect(weights!.toArray().allSatisfy { $0 == 0 })
        #expect(output.toArray().allSatisfy { $0.isFinite })
    }

    @Test func badShapesAndMasksAreErrors() {
        let attention = MultiheadAttention(embedDimension: 4, headCount: 2)
        let x = randomTensor([3, 2, 4], seed: 4)
        #expect(throws: ModuleError.self) { try attention(query: randomTensor([3, 2, 5], seed: 5), key: x, value: x) }
        #expect(throws: ModuleError.self) { try attention(query: x, key: randomTensor([3, 4], seed: 6), value: x) }
        #expect(throws: ModuleError.self) { try attention(query: x, key: x, value: randomTensor([4, 2, 4], seed: 7)) }
        #expect(throws: ModuleError.self) { try attention(query: x, key: x, value: x, keyPaddingMask: Tensor(zeros: [2, 4], dtype: .bool)) }
        #expect(throws: ModuleError.self) { try attention(query: x, key: x, value: x, attentionMask: Tensor(zeros: [2, 3])) }
        #expect(throws: ModuleError.self) { try attention(query: x, key: x, value: x, attentionMask: Tensor(zeros: [3, 3], dtype: .int64)) }
    }

    @Test func dropoutOnAttentionWeightsOnlyInTraining() throws {
        let attention = withRandomSeed(8) { MultiheadAttention(embedDimension: 4, headCount: 1, dropout: 0.5) }
        let x = randomTensor([6, 1, 4], seed: 9)
        attention.eval()
        let evaluation = try attention(query: x, key: x, value: x).weights!
        #expect(evaluation.toArray().allSatisfy { $0 > 0 })
        attention.train()
        let training = try withRandomSeed(10) { try attention(query: x, key: x, value: x).weights! }
        #expect(training.toArray().contains(0))
    }
}
