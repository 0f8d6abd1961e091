import NN
import Tensors
import Testing
import TestSupport

// Every layer against PyTorch (Tests/Fixtures/nn_layers, generate.py): same state-dict keys in
// the same order (strict load), same repr, same output — and, in training mode, the same
// updated running statistics.

struct LayerCase: CustomTestStringConvertible, Sendable {
    let name: String
    let training: Bool
    let make: @Sendable () -> UnaryModule
    var testDescription: String { name }

    init(_ name: String, training: Bool = false, _ make: @escaping @Sendable () -> UnaryModule) {
        self.name = name
        self.training = training
        self.make = make
    }

    static let all: [LayerCase] = [
        .init("linear") { Linear(inFeatures: 5, outFeatures: 3) },
        .init("linear_nobias") { Linear(inFeatures: 5, outFeatures: 3, bias: false) },
        .init("conv") { Conv2d(inChannels: 4, outChannels: 6, kernelSize: 3, stride: 2, padding: 1) },
        .init("conv_grouped_nobias") {
            Conv2d(inChannels: 4, outChannels: 6, kernelSize: IntPair(3, 1), stride: IntPair(1, 2), padding: IntPair(2, 0),
                   dilation: IntPair(2, 1), groups: 2, bias: false)
        },
        .init("batchnorm_eval") { BatchNorm2d(featureCount: 3) },
        .init("batchnorm_train", training: true) { BatchNorm2d(featureCount: 3, momentum: 0.2) },
        .init("batchnorm_train_cumulative", training: true) { BatchNorm2d(featureCount: 3, momentum: nil) },
        .init("batchnorm_noaffine") { BatchNorm2d(featureCount: 3, epsilon: 1e-3, affine: false) },
        .init("batchnorm_nobias") { BatchNorm2d(featureCount: 3, bias: false) },
        .init("batchnorm_untracked") { BatchNorm2d(featureCount: 3, trackRunningStatistics: false) },
        .init("layernorm") { LayerNorm(8, epsilon: 1e-6) },
        .init("layernorm_2d_nobias") { LayerNorm(normalizedShape: [5, 8], bias: false) },
        .init("groupnorm") { GroupNorm(groupCount: 2, channelCount: 6) },
        .init("groupnorm_nobias") { GroupNorm(groupCount: 3, channelCount: 6, epsilon: 1e-3, bias: false) },
        .init("embedding") { Embedding(embeddingCount: 10, embeddingDimension: 4, paddingIndex: 0) },
        .init("relu") { ReLU() },
        .init("relu_inplace") { ReLU(inplace: true) },
        .init("gelu") { GELU() },
        .init("gelu_tanh") { GELU(approximation: .tanh) },
        .init("silu") { SiLU() },
        .init("sigmoid") { Sigmoid() },
        .init("tanh") { Tanh() },
        .init("softmax") { Softmax(axis: 1) },
        .init("flatten") { Flatten() },
        .init("dropout_eval") { Dropout(probability: 0.3) },
        .init("maxpool") { MaxPool2d(kernelSize: 3, stride: 2, padding: 1) },
        .init("maxpool_ceil") { MaxPool2d(kernelSize: IntPair(3, 2), stride: IntPair(2, 2), ceilMode: true) },
        .init("avgpool") { AvgPool2d(kernelSize: 3, stride: 2, padding: 1) },
        .init("avgpool_nopad") { AvgPool2d(kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false) },
        .init("adaptive") { AdaptiveAvgPool2d(outputSize: IntPair(2, 3)) },
        .init("adaptive_global") { AdaptiveAvgPool2d(outputSize: 1) },
        .init("identity") { Identity() },
    ]
}

@Suite struct LayerParityTests {
    @Test(arguments: LayerCase.all)
    func matchesPyTorch(_ testCase: LayerCase) throws {
        let module = testCase.make().train(testCase.training)
        let reference = try #require(LayerFixtures.modules[testCase.name])
        #expect(module.description == reference.repr)
        #expect(module.stateDict().keys == reference.stateKeys)
        try module.loadStateDict(try LayerFixtures.stateDict(testCase.name))

        let input = try LayerFixtures.tensor(testCase.name, "input0")
        let output = try module(input)
        let expected = try LayerFixtures.tensor(testCase.name, "output0")
        let measured = try #require(difference(output, expected), "shape \(output.shape) vs \(expected.shape)")
        #expect(measured.scaledError <= 1e-5, "\(measured)")

        if testCase.training {
            for (key, tensor) in module.stateDict() {
                let after = try LayerFixtures.tensor(testCase.name, "after.\(key)")
                #expect(tensor.dtype == after.dtype, "\(key)")
                #expect(isClose(tensor, after, tolerance: 1e-5), "\(key): \(tensor) vs \(after)")
            }
        }
    }

    @Test func everyFixtureCaseIsCovered() {
        let covered = Set(LayerCase.all.map(\.name))
        let attention = Set(LayerFixtures.modules.keys.filter { $0.hasPrefix("mha") })
        let composites: Set = ["sequential", "modulelist", "moduledict", "maxpool_default", "dropout_default", "empty_modulelist",
                               "resnet_basic_1111", "vit_tiny"]
        #expect(Set(LayerFixtures.modules.keys).subtracting(covered).subtracting(attention).subtracting(composites).isEmpty)
    }
}
