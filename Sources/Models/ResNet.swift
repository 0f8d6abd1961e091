import NN
import Tensors

// Mirrors torchvision.models.resnet (torchvision/models/resnet.py, v0.29): `ResNet`, `BasicBlock`,
// `Bottleneck`, `_make_layer`, the weight initialization, and the presets resnet18/34/50/101/152
// (plus the ResNeXt / wide variants through `groups` and `width_per_group`). State-dict keys,
// module names and the printed tree are torchvision's; each block's ReLU module runs two
// (BasicBlock) or three (Bottleneck) times per forward, so FX-style capture names `relu`,
// `relu_1` (and `relu_2`) exist as in `torchvision.models.feature_extraction`.
//
// Inference fast path (same numbers, see `convolution(_:_:_:relu:)`): conv → bn (→ relu) run as
// one convolution with the batch norm folded into the packed weights and the ReLU in the GEMM
// epilogue, and the residual join is one in-place add+ReLU — each only while no hook is
// registered on the modules involved, so a capture of `layer1.0.bn1` sees the true BN output.

/// torchvision's ResNet for image classification: input [N, 3, H, W], output logits [N, classes].
public final class ResNet: UnaryModule {
    // MARK: - Configuration

    /// torchvision's `ResNet(block, layers, num_classes, zero_init_residual, groups,
    /// width_per_group, replace_stride_with_dilation)` arguments, decodable from JSON with the same
    /// names (`block` is `"basic"` or `"bottleneck"`).
    public struct Configuration: Decodable, Sendable, Equatable {
        public enum Block: String, Sendable, Codable {
            case basic
            case bottleneck

            /// Output channels per `planes`: torchvision's `block.expansion`.
            var expansion: Int { self == .basic ? 1 : 4 }
        }

        public var block: Block
        /// Blocks per stage, four stages.
        public var layers: [Int]
        public var numClasses: Int
        /// Zero-initialize the last BN of each block (`zero_init_residual`).
        public var zeroInitResidual: Bool
        public var groups: Int
        public var widthPerGroup: Int
        /// For stages 2–4: dilate instead of striding (`replace_stride_with_dilation`).
        public var replaceStrideWithDilation: [Bool]

        public init(block: Block, layers: [Int], numClasses: Int = 1000, zeroInitResidual: Bool = false, groups: Int = 1,
                    widthPerGroup: Int = 64, replaceStrideWithDilation: [Bool] = [false, false, false]) {
            self.block = block
            self.layers = layers
            self.numClasses = numClasses
            self.zeroInitResidual = zeroInitResidual
            self.groups = groups
            self.widthPerGroup = widthPerGroup
            self.replaceStrideWithDilation = replaceStrideWithDilation
        }

        static let fieldNames = ["block", "layers", "num_classes", "zero_init_residual", "groups", "width_per_group",
                                 "replace_stride_with_dilation"]

        /// Decodes the fields; absent ones take the values of the preset in `decoder.userInfo[.architecturePreset]`
        /// (so `resnet50` with `{"num_classes": 10}` works) or torchvision's defaults.
        public init(from decoder: any Decoder) throws {
            let preset = decoder.userInfo[.architecturePreset] as? Configuration
            let fields = try ConfigurationFields(decoder, architecture: "resnet", known: Self.fieldNames)
            let blockName = try fields.choice("block", from: ["basic", "bottleneck"], default: preset?.block.rawValue)
            self.init(block: Block(rawValue: blockName)!,
                      layers: try fields.value("layers", expected: "an array of 4 positive integers", default: preset?.layers) {
                          $0.count == 4 && $0.allSatisfy { $0 > 0 }
                      },
                      numClasses: try fields.value("num_classes", expected: "a positive integer", default: preset?.numClasses ?? 1000) { $0 > 0 },
                      zeroInitResidual: try fields.value("zero_init_residual", expected: "true or false", default: false),
                      groups: try fields.value("groups", expected: "a positive integer", default: preset?.groups ?? 1) { $0 > 0 },
                      widthPerGroup: try fields.value("width_per_group", expected: "a positive integer",
                                                      default: preset?.widthPerGroup ?? 64) { $0 > 0 },
                      replaceStrideWithDilation: try fields.value("replace_stride_with_dilation", expected: "an array of 3 booleans",
                                                                  default: [false, false, false]) { $0.count == 3 })
            try validate()
        }

        /// Combinations torchvision rejects.
        public func validate() throws {
            guard layers.count == 4, layers.allSatisfy({ $0 > 0 }) else {
                throw ModelError.invalidConfiguration(field: "layers", expected: "an array of 4 positive integers")
            }
            guard numClasses > 0 else { throw ModelError.invalidConfiguration(field: "num_classes", expected: "a positive integer") }
            guard replaceStrideWithDilation.count == 3 else {
                throw ModelError.invalidConfiguration(field: "replace_stride_with_dilation", expected: "an array of 3 booleans")
            }
            if block == .basic {
                guard groups == 1, widthPerGroup == 64 else {
                    throw ModelError.invalidConfiguration(field: groups != 1 ? "groups" : "width_per_group",
                                                          expected: "groups 1 and width_per_group 64 with basic blocks (torchvision's BasicBlock)")
                }
                guard !replaceStrideWithDilation.contains(true) else {
                    throw ModelError.invalidConfiguration(field: "replace_stride_with_dilation",
                                                          expected: "no dilation with basic blocks (torchvision's BasicBlock)")
                }
            }
        }

        public static let resnet18 = Configuration(block: .basic, layers: [2, 2, 2, 2])
        public static let resnet34 = Configuration(block: .basic, layers: [3, 4, 6, 3])
        public static let resnet50 = Configuration(block: .bottleneck, layers: [3, 4, 6, 3])
        public static let resnet101 = Configuration(block: .bottleneck, layers: [3, 4, 23, 3])
        public static let resnet152 = Configuration(block: .bottleneck, layers: [3, 8, 36, 3])
        public static let resnext50_32x4d = Configuration(block: .bottleneck, layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4)
        public static let wideResNet50_2 = Configuration(block: .bottleneck, layers: [3, 4, 6, 3], widthPerGroup: 128)

        /// The presets by torchvision's builder names.
        public static let presets: [String: Configuration] = [
            "resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50, "resnet101": resnet101, "resnet152": resnet152,
            "resnext50_32x4d": resnext50_32x4d, "wide_resnet50_2": wideResNet50_2,
        ]
    }

    // MARK: - Modules

    public let configuration: Configuration
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let relu = ReLU(inplace: true)
    public let maxpool = MaxPool2d(kernelSize: 3, stride: 2, padding: 1)
    public let layer1: Sequential
    public let layer2: Sequential
    public let layer3: Sequential
    public let layer4: Sequential
    public let avgpool = AdaptiveAvgPool2d(outputSize: IntPair(1, 1))
    public let fc: Linear

    public init(configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
        var builder = StageBuilder(configuration: configuration)
        conv1 = Conv2d(inChannels: 3, outChannels: 64, kernelSize: 7, stride: 2, padding: 3, bias: false)
        bn1 = BatchNorm2d(featureCount: 64)
        layer1 = builder.stage(planes: 64, blocks: configuration.layers[0])
        layer2 = builder.stage(planes: 128, blocks: configuration.layers[1], stride: 2, dilate: configuration.replaceStrideWithDilation[0])
        layer3 = builder.stage(planes: 256, blocks: configuration.layers[2], stride: 2, dilate: configuration.replaceStrideWithDilation[1])
        layer4 = builder.stage(planes: 512, blocks: configuration.layers[3], stride: 2, dilate: configuration.replaceStrideWithDilation[2])
        fc = Linear(inFeatures: 512 * configuration.block.expansion, outFeatures: configuration.numClasses)
        super.init()
        initializeWeights()
    }

    /// torchvision's initialization: Kaiming-normal (fan_out, ReLU) convolutions, unit/zero batch
    /// norms, the last BN of each block zeroed with `zeroInitResidual`; `fc` keeps Linear's default.
    private func initializeWeights() {
        for module in modules() {
            if let conv = module as? Conv2d {
                Initializers.kaimingNormal(conv.weight, mode: .fanOut, nonlinearity: .relu)
            } else if let norm = module as? BatchNorm2d {
                if let weight = norm.weight { Initializers.ones(weight) }
                if let bias = norm.bias { Initializers.zeros(bias) }
            }
        }
        guard configuration.zeroInitResidual else { return }
        for module in modules() {
            if let block = module as? Bottleneck, let weight = block.bn3.weight { Initializers.zeros(weight) }
            if let block = module as? BasicBlock, let weight = block.bn2.weight { Initializers.zeros(weight) }
        }
    }

    public override func forward(_ input: Tensor) throws -> Tensor {
        guard input.rank == 4, input.shape[1] == 3 else {
            throw ModelError.invalidInput(name: "input", reason: "expected an image batch [N, 3, H, W], got shape \(input.shape)")
        }
        var x = try convolution(input, conv1, bn1, relu: relu)
        x = try maxpool(x)
        x = try layer4(layer3(layer2(layer1(x))))
        return try fc(avgpool(x).flattened(startAxis: 1))
    }
}

// MARK: - Stages

/// torchvision's `_make_layer` state: the running input width and dilation across stages.
private struct StageBuilder {
    let configuration: ResNet.Configuration
    var inputChannels = 64
    var dilation = 1

    init(configuration: ResNet.Configuration) { self.configuration = configuration }

    mutating func stage(planes: Int, blocks: Int, stride: Int = 1, dilate: Bool = false) -> Sequential {
        let expansion = configuration.block.expansion
        let previousDilation = dilation
        var stride = stride
        if dilate {
            dilation *= stride
            stride = 1
        }
        // A projection shortcut exactly where torchvision has one.
        var downsample: Sequential?
        if stride != 1 || inputChannels != planes * expansion {
            downsample = Sequential(
                Conv2d(inChannels: inputChannels, outChannels: planes * expansion, kernelSize: 1, stride: IntPair(stride), bias: false),
                BatchNorm2d(featureCount: planes * expansion))
        }
        var layers: [UnaryModule] = [makeBlock(inputChannels, planes, stride: stride, downsample: downsample, dilation: previousDilation)]
        inputChannels = planes * expansion
        for _ in 1..<blocks {
            layers.append(makeBlock(inputChannels, planes, stride: 1, downsample: nil, dilation: dilation))
        }
        return Sequential(layers)
    }

    private func makeBlock(_ inputChannels: Int, _ planes: Int, stride: Int, downsample: Sequential?, dilation: Int) -> UnaryModule {
        switch configuration.block {
        case .basic:
            BasicBlock(inputChannels: inputChannels, planes: planes, stride: stride, downsample: downsample)
        case .bottleneck:
            Bottleneck(inputChannels: inputChannels, planes: planes, stride: stride, downsample: downsample,
                       groups: configuration.groups, baseWidth: configuration.widthPerGroup, dilation: dilation)
        }
    }
}

// MARK: - Blocks

/// torchvision's `BasicBlock`: conv3×3-bn-relu-conv3×3-bn, plus the (projected) input, then the
/// same ReLU module again.
private final class BasicBlock: UnaryModule {
    let conv1: Conv2d
    let bn1: BatchNorm2d
    let relu = ReLU(inplace: true)
    let conv2: Conv2d
    let bn2: BatchNorm2d
    let downsample: Sequential?

    init(inputChannels: Int, planes: Int, stride: Int, downsample: Sequential?) {
        conv1 = Conv2d(inChannels: inputChannels, outChannels: planes, kernelSize: 3, stride: IntPair(stride), padding: 1, bias: false)
        bn1 = BatchNorm2d(featureCount: planes)
        conv2 = Conv2d(inChannels: planes, outChannels: planes, kernelSize: 3, stride: 1, padding: 1, bias: false)
        bn2 = BatchNorm2d(featureCount: planes)
        self.downsample = downsample
        super.init()
    }

    override func forward(_ input: Tensor) throws -> Tensor {
        var out = try convolution(input, conv1, bn1, relu: relu)
        out = try convolution(out, conv2, bn2, relu: nil)
        return try residualJoin(&out, shortcut(input, downsample), relu: relu)
    }
}

/// torchvision's `Bottleneck` (ResNet v1.5: the stride sits on the 3×3 convolution):
/// conv1×1-bn-relu-conv3×3-bn-relu-conv1×1-bn, plus the (projected) input, then the ReLU again.
private final class Bottleneck: UnaryModule {
    let conv1: Conv2d
    let bn1: BatchNorm2d
    let conv2: Conv2d
    let bn2: BatchNorm2d
    let conv3: Conv2d
    let bn3: BatchNorm2d
    let relu = ReLU(inplace: true)
    let downsample: Sequential?

    init(inputChannels: Int, planes: Int, stride: Int, downsample: Sequential?, groups: Int, baseWidth: Int, dilation: Int) {
        let width = Int(Double(planes) * (Double(baseWidth) / 64.0)) * groups
        conv1 = Conv2d(inChannels: inputChannels, outChannels: width, kernelSize: 1, stride: 1, bias: false)
        bn1 = BatchNorm2d(featureCount: width)
        conv2 = Conv2d(inChannels: width, outChannels: width, kernelSize: 3, stride: IntPair(stride), padding: IntPair(dilation),
                       dilation: IntPair(dilation), groups: groups, bias: false)
        bn2 = BatchNorm2d(featureCount: width)
        conv3 = Conv2d(inChannels: width, outChannels: planes * 4, kernelSize: 1, stride: 1, bias: false)
        bn3 = BatchNorm2d(featureCount: planes * 4)
        self.downsample = downsample
        super.init()
    }

    override func forward(_ input: Tensor) throws -> Tensor {
        var out = try convolution(input, conv1, bn1, relu: relu)
        out = try convolution(out, conv2, bn2, relu: relu)
        out = try convolution(out, conv3, bn3, relu: nil)
        return try residualJoin(&out, shortcut(input, downsample), relu: relu)
    }
}

// MARK: - Fused steps

/// relu?(bn(conv(x))), fused as far as the hooks allow: all three in one convolution when none is
/// hooked; conv+bn fused with the ReLU module called separately when only the ReLU is hooked;
/// otherwise each module is called (and each hook sees its true output).
private func convolution(_ x: Tensor, _ conv: Conv2d, _ bn: BatchNorm2d, relu: ReLU?) throws -> Tensor {
    if let relu, conv.canFuse(batchNorm: bn, relu: relu) {
        return try conv.fusedForward(x, batchNorm: bn, relu: true)
    }
    let normalized = conv.canFuse(batchNorm: bn, relu: nil) ? try conv.fusedForward(x, batchNorm: bn, relu: false) : try bn(conv(x))
    guard let relu else { return normalized }
    return try relu(normalized)
}

/// The shortcut branch: the input itself, or `downsample(x)` (conv1×1 + bn, fused when unhooked).
private func shortcut(_ x: Tensor, _ downsample: Sequential?) throws -> Tensor {
    guard let downsample else { return x }
    if downsample.canSkipHooks, downsample.count == 2, let conv = downsample[0] as? Conv2d, let bn = downsample[1] as? BatchNorm2d,
       conv.canFuse(batchNorm: bn, relu: nil) {
        return try conv.fusedForward(x, batchNorm: bn, relu: false)
    }
    return try downsample(x)
}

/// `out += identity; out = relu(out)` — one in-place pass when the ReLU is not hooked (`out` is
/// the block's fresh tensor, so the write touches nothing anyone else holds).
private func residualJoin(_ out: inout Tensor, _ identity: Tensor, relu: ReLU) throws -> Tensor {
    guard out.shape == identity.shape else {
        throw ModelError.invalidInput(name: "input", reason: "residual shapes \(out.shape) and \(identity.shape) differ")
    }
    if relu.canSkipHooks {
        out.addReLUInPlace(identity)
        return out
    }
    out += identity
    return try relu(out)
}
