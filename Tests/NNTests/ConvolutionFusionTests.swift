import NN
import Tensors
import Testing
import TestSupport

/// Conv → BatchNorm → ReLU folded into one convolution gives the modules' numbers, and is refused
/// whenever a hook, training mode or autograd needs the separate steps.
@Suite struct ConvolutionFusionTests {
    /// A convolution and a batch norm with non-trivial statistics and affine parameters.
    static func pair(bias: Bool, affine: Bool = true, groups: Int = 1) -> (Conv2d, BatchNorm2d) {
        let conv = withRandomSeed(7) { Conv2d(inChannels: 4, outChannels: 6, kernelSize: 3, stride: 2, padding: 1, groups: groups, bias: bias) }
        let norm = BatchNorm2d(featureCount: 6, epsilon: 1e-3, affine: affine)
        norm.runningMean!.value = randomTensor([6], seed: 8)
        norm.runningVar!.value = randomTensor([6], seed: 9).map { $0 * $0 + 0.5 }
        if affine {
            norm.weight!.value = randomTensor([6], seed: 10)
            norm.bias!.value = randomTensor([6], seed: 11)
        }
        conv.eval()
        norm.eval()
        // Discover the trees: until then every call goes through the hook dispatch (no fusion).
        _ = conv.namedModules()
        _ = norm.namedModules()
        return (conv, norm)
    }

    @Test(arguments: [(true, true, 1), (false, true, 1), (false, false, 1), (true, true, 2)])
    func foldedEqualsSeparate(_ bias: Bool, _ affine: Bool, _ groups: Int) throws {
        let (conv, norm) = Self.pair(bias: bias, affine: affine, groups: groups)
        let relu = ReLU()
        _ = relu.namedModules()
        let x = randomTensor([2, 4, 9, 7], seed: 12)
        try GradMode.withDisabled {
            #expect(conv.canFuse(batchNorm: norm, relu: relu))
            let separate = try relu(norm(conv(x)))
            expectClose(try conv.fusedForward(x, batchNorm: norm, relu: true), separate)
            expectClose(try conv.fusedForward(x, batchNorm: norm, relu: false), try norm(conv(x)))
            expectClose(try conv.fusedForward(x, batchNorm: nil, relu: false), try conv(x))
            // Unbatched [C, H, W] too.
            expectClose(try conv.fusedForward(x.selecting(axis: 0, index: 1), batchNorm: norm, relu: true),
                        separate.selecting(axis: 0, index: 1))
        }
    }

    @Test func hooksTrainingAndAutogradPreventFusion() throws {
        let (conv, norm) = Self.pair(bias: false)
        let relu = ReLU()
        _ = relu.namedModules()
        GradMode.withDisabled {
            #expect(conv.canFuse(batchNorm: norm, relu: relu))
            let handle = norm.registerForwardHook { _, _, _ in nil }
            #expect(!conv.canFuse(batchNorm: norm, relu: relu))
            #expect(!conv.canFuse(batchNorm: norm, relu: nil))
            handle.remove()
            let reluHook = relu.registerForwardHook { _, _, _ in nil }
            #expect(!conv.canFuse(batchNorm: norm, relu: relu))
            #expect(conv.canFuse(batchNorm: norm, relu: nil))
            reluHook.remove()
            let global = GlobalModuleHooks.registerForwardHook { _, _, _ in nil }
            #expect(!conv.canFuse(batchNorm: norm, relu: nil))
            global.remove()
            norm.train()
            #expect(!conv.canFuse(batchNorm: norm, relu: nil))
            norm.eval()
        }
        // Autograd records (parameters require grad by default): the modules run one by one.
        #expect(!conv.canFuse(batchNorm: norm, relu: nil))
        conv.requiresGrad(false)
        norm.requiresGrad(false)
        #expect(conv.canFuse(batchNorm: norm, relu: nil))
    }

    @Test func foldedWeightsFollowTheStatistics() throws {
        let (conv, norm) = Self.pair(bias: true)
        let x = randomTensor([1, 4, 6, 6], seed: 13)
        try GradMode.withDisabled {
            let first = try conv.fusedForward(x, batchNorm: norm, relu: false)
            let packed = conv.inferenceWeights(foldingBatchNorm: norm)
            norm.runningMean!.value = randomTensor([6], seed: 14)
            #expect(conv.inferenceWeights(foldingBatchNorm: norm) !== packed)
            let second = try conv.fusedForward(x, batchNorm: norm, relu: false)
            expectClose(second, try norm(conv(x)))
            #expect(first.toArray() != second.toArray())
        }
    }

    @Test func badInputsGiveTheModulesErrors() {
        let (conv, norm) = Self.pair(bias: false)
        #expect(throws: ModuleError.invalidInput(module: "Conv2d", reason: "expected 4 input channels, got shape [1, 3, 8, 8]")) {
            try conv.fusedForward(Tensor(zeros: [1, 3, 8, 8]), batchNorm: norm, relu: true)
        }
        let wrong = BatchNorm2d(featureCount: 5).eval()
        #expect(throws: ModuleError.invalidInput(module: "BatchNorm2d", reason: "expected 5 channels, got 6 from the convolution")) {
            try conv.fusedForward(Tensor(zeros: [1, 4, 8, 8]), batchNorm: wrong, relu: true)
        }
    }
}

/// Expects `actual` close to `expected` (scaled error 1e-5).
private func expectClose(_ actual: Tensor, _ expected: Tensor, sourceLocation: SourceLocation = #_sourceLocation) {
    let measured = difference(actual, expected)
    #expect(measured != nil && measured!.scaledError <= 1e-5, "\(measured.map { "\($0)" } ?? "shapes \(actual.shape) vs \(expected.shape)")",
            sourceLocation: sourceLocation)
}
