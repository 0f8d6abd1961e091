import NN
import Tensors

// Small models the tests share. `BasicBlock` and `MiniResNet` follow torchvision's ResNet
// (torchvision/models/resnet.py) closely enough to load its state dicts.

/// torchvision's BasicBlock: conv-bn-relu-conv-bn, plus the (optionally downsampled) input,
/// then the *same* ReLU module again — so it runs twice per forward (`relu`, `relu_1`).
final class BasicBlock: UnaryModule {
    let conv1: Conv2d
    let bn1: UnaryModule
    let relu: UnaryModule
    let conv2: Conv2d
    let bn2: UnaryModule
    let downsample: Sequential?

    init(inChannels: Int, outChannels: Int, stride: Int = 1,
         normLayer: NormLayerFactory = { BatchNorm2d(featureCount: $0) },
         activation: ActivationFactory = { ReLU(inplace: true) }) {
        conv1 = Conv2d(inChannels: inChannels, outChannels: outChannels, kernelSize: 3, stride: IntPair(stride), padding: 1, bias: false)
        bn1 = normLayer(outChannels)
        relu = activation()
        conv2 = Conv2d(inChannels: outChannels, outChannels: outChannels, kernelSize: 3, padding: 1, bias: false)
        bn2 = normLayer(outChannels)
        if stride != 1 || inChannels != outChannels {
            downsample = Sequential(Conv2d(inChannels: inChannels, outChannels: outChannels, kernelSize: 1, stride: IntPair(stride), bias: false),
                                    normLayer(outChannels))
        } else {
            downsample = nil
        }
        super.init()
    }

    override func forward(_ input: Tensor) throws -> Tensor {
        var out = try relu(bn1(conv1(input)))
        out = try bn2(conv2(out))
        let identity = try downsample?(input) ?? input
        return try relu(out + identity)
    }
}

/// torchvision's `ResNet(BasicBlock, [1, 1, 1, 1])` with configurable widths.
final class MiniResNet: UnaryModule {
    let conv1: Conv2d
    let bn1: BatchNorm2d
    let relu = ReLU(inplace: true)
    let maxpool = MaxPool2d(kernelSize: 3, stride: 2, padding: 1)
    let layer1: Sequential
    let layer2: Sequential
    let layer3: Sequential
    let layer4: Sequential
    let avgpool = AdaptiveAvgPool2d(outputSize: IntPair(1, 1))
    let fc: Linear

    init(widths: [Int] = [64, 128, 256, 512], classCount: Int = 1000) {
        conv1 = Conv2d(inChannels: 3, outChannels: widths[0], kernelSize: 7, stride: 2, padding: 3, bias: false)
        bn1 = BatchNorm2d(featureCount: widths[0])
        layer1 = Sequential(BasicBlock(inChannels: widths[0], outChannels: widths[0]))
        layer2 = Sequential(BasicBlock(inChannels: widths[0], outChannels: widths[1], stride: 2))
        layer3 = Sequential(BasicBlock(inChannels: widths[1], outChannels: widths[2], stride: 2))
        layer4 = Sequential(BasicBlock(inChannels: widths[2], outChannels: widths[3], stride: 2))
        fc = Linear(inFeatures: widths[3], outFeatures: classCount)
        super.init()
    }

    override func forward(_ input: Tensor) throws -> Tensor {
        var x = try maxpool(relu(bn1(conv1(input))))
        x = try layer4(layer3(layer2(layer1(x))))
        return try fc(avgpool(x).flattened(startAxis: 1))
    }
}

/// A module that counts its calls (to prove layers after an early stop did not run).
final class CallCounter: UnaryModule {
    var calls = 0
    override func forward(_ input: Tensor) throws -> Tensor {
        calls += 1
        return input
    }
}

/// A module that always throws (a failing layer, a deadline).
final class Failing: UnaryModule {
    struct Failure: Error, Equatable {}
    override func forward(_ input: Tensor) throws -> Tensor { throw Failure() }
}

/// Adds a constant; handy for checking call order and values.
final class AddConstant: UnaryModule {
    let constant: Float
    init(_ constant: Float) {
        self.constant = constant
        super.init()
    }
    override func forward(_ input: Tensor) throws -> Tensor { input + constant }
}
