import NN
import Tensors
import Testing
import TestSupport

// Behaviour the parity fixtures do not show: dropout in training, optional biases everywhere,
// clear errors for bad inputs, float16 weights.

struct BiasOffCase: CustomTestStringConvertible, Sendable {
    let name: String
    let make: @Sendable () -> UnaryModule
    let input: @Sendable () -> Tensor
    var testDescription: String { name }

    static let all: [BiasOffCase] = [
        .init(name: "Linear", make: { Linear(inFeatures: 3, outFeatures: 2, bias: false) }, input: { randomTensor([2, 3], seed: 1) }),
        .init(name: "Conv2d", make: { Conv2d(inChannels: 2, outChannels: 4, kernelSize: 3, bias: false) }, input: { randomTensor([1, 2, 5, 5], seed: 2) }),
        .init(name: "BatchNorm2d", make: { BatchNorm2d(featureCount: 2, bias: false) }, input: { randomTensor([2, 2, 3, 3], seed: 3) }),
        .init(name: "BatchNorm2d affine off", make: { BatchNorm2d(featureCount: 2, affine: false) }, input: { randomTensor([2, 2, 3, 3], seed: 3) }),
        .init(name: "LayerNorm", make: { LayerNorm(3, bias: false) }, input: { randomTensor([2, 3], seed: 4) }),
        .init(name: "LayerNorm affine off", make: { LayerNorm(3, elementwiseAffine: false) }, input: { randomTensor([2, 3], seed: 4) }),
        .init(name: "GroupNorm", make: { GroupNorm(groupCount: 1, channelCount: 2, bias: false) }, input: { randomTensor([1, 2, 3], seed: 5) }),
        .init(name: "GroupNorm affine off", make: { GroupNorm(groupCount: 1, channelCount: 2, affine: false) }, input: { randomTensor([1, 2, 3], seed: 5) }),
    ]
}

@Suite struct LayerBehaviourTests {
    @Test(arguments: BiasOffCase.all)
    func biasAccessedWithoutCheckEveryLayerRunsWithBiasOff(_ testCase: BiasOffCase) throws {
        let module = testCase.make()
        #expect(!module.stateDict().keys.contains { $0.hasSuffix("bias") })
        for mode in [true, false] {
            module.train(mode)
            #expect(try module(testCase.input()).shape.count > 0)
        }
        module.resetParameters()
        module.to(.float16)
        #expect(try module(testCase.input()).dtype == .float32)
        #expect(!module.description.isEmpty)
        try module.loadStateDict(module.stateDict())
    }

    @Test func dropoutDropsAndScalesInTrainingOnly() throws {
        let dropout = Dropout(probability: 0.25)
        let input = Tensor(shape: [10_000], repeating: 1)
        let output = try withRandomSeed(1) { try dropout(input) }.toArray()
        let kept = output.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
        #expect(abs(Double(kept.count) / 10_000 - 0.75) < 0.02)
        #expect(try withRandomSeed(1) { try dropout(input) }.toArray() == output)
        dropout.eval()
        #expect(try dropout(input).toArray() == input.toArray())
        dropout.train()
        #expect(try Dropout(probability: 1)(input).toArray().allSatisfy { $0 == 0 })
        #expect(try Dropout(probability: 0)(input).toArray() == input.toArray())
    }

    @Test func reluInPlaceNeverChangesATensorSomeoneElseHolds() throws {
        let relu = ReLU(inplace: true)
        let input = Tensor(shape: [3], scalars: [-1, 2, -3])
        let output = try relu(input)
        #expect(output.toArray() == [0, 2, 0])
        #expect(input.toArray() == [-1, 2, -3])
        // While recording gradients it computes out of place instead of failing.
        var tracked = input
        tracked.requiresGrad = true
        #expect(try relu(tracked * 1).requiresGrad)
    }

    @Test func batchNormTrainingNeedsMoreThanOneValuePerChannel() {
        let norm = BatchNorm2d(featureCount: 2)
        #expect(throws: ModuleError.self) { try norm(randomTensor([1, 2, 1, 1], seed: 1)) }
        norm.eval()
        #expect((try? norm(randomTensor([1, 2, 1, 1], seed: 1))) != nil)
    }

    @Test func badInputsAreClearErrorsNotCrashes() {
        let image = randomTensor([1, 3, 4, 4], seed: 1)
        let cases: [(UnaryModule, Tensor)] = [
            (Linear(inFeatures: 4, outFeatures: 2), randomTensor([2, 3], seed: 2)),
            (Linear(inFeatures: 4, outFeatures: 2), Tensor(zeros: [2, 4], dtype: .int64)),
            (Conv2d(inChannels: 2, outChannels: 2, kernelSize: 3), image),
            (Conv2d(inChannels: 3, outChannels: 2, kernelSize: 5), image),
            (Conv2d(inChannels: 3, outChannels: 2, kernelSize: 1), randomTensor([3, 4], seed: 3)),
            (BatchNorm2d(featureCount: 4), image),
            (BatchNorm2d(featureCount: 3), randomTensor([3, 4, 4], seed: 4)),
            (LayerNorm(5), image),
            (GroupNorm(groupCount: 1, channelCount: 4), image),
            (Embedding(embeddingCount: 5, embeddingDimension: 2), Tensor(shape: [2], elements: [Int64(1), 5])),
            (Embedding(embeddingCount: 5, embeddingDimension: 2), Tensor(shape: [2], elements: [Int64(-1), 0])),
            (Embedding(embeddingCount: 5, embeddingDimension: 2), Tensor(shape: [2], scalars: [1, 2])),
            (MaxPool2d(kernelSize: 2, padding: 2), image),
            (MaxPool2d(kernelSize: 9), image),
            (AvgPool2d(kernelSize: 3), randomTensor([4, 4], seed: 5)),
            (AdaptiveAvgPool2d(outputSize: 2), randomTensor([4], seed: 6)),
            (Softmax(axis: 3), randomTensor([2, 2], seed: 7)),
            (Flatten(startAxis: 2), randomTensor([2, 2], seed: 8)),
        ]
        for (module, input) in cases {
            #expect(throws: ModuleError.self, "\(module) on \(input.dtype) \(input.shape)") { try module(input) }
        }
        let expected = ModuleError.invalidInput(module: "Linear", reason: "expected the last dimension to be 4 (in_features), got shape [2, 3]")
        #expect(throws: expected) { try Linear(inFeatures: 4, outFeatures: 2)(randomTensor([2, 3], seed: 2)) }
        #expect(expected.description == "Linear: expected the last dimension to be 4 (in_features), got shape [2, 3]")
    }

    @Test func unbatchedInputsWorkForConvolutionAndPooling() throws {
        let conv = withRandomSeed(1) { Conv2d(inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1) }
        let image = randomTensor([2, 5, 5], seed: 2)
        #expect(try conv(image).toArray() == (try conv(image.unsqueezed(axis: 0))).toArray())
        #expect(try MaxPool2d(kernelSize: 2)(image).shape == [2, 2, 2])
        #expect(try AvgPool2d(kernelSize: 2)(image).shape == [2, 2, 2])
        #expect(try AdaptiveAvgPool2d(outputSize: 1)(image).shape == [2, 1, 1])
    }

    @Test func embeddingAcceptsInt32Indices() throws {
        let embedding = withRandomSeed(3) { Embedding(embeddingCount: 4, embeddingDimension: 2) }
        let long = try embedding(Tensor(shape: [2], elements: [Int64(3), 1]))
        let int = try embedding(Tensor(shape: [2], elements: [Int32(3), 1]))
        #expect(long.toArray() == int.toArray())
    }
}
