import NN
import Tensors

// Mirrors torchvision.models.convnext (torchvision/models/convnext.py, v0.28): `ConvNeXt`, `CNBlock`,
// `CNBlockConfig`, `LayerNorm2d`, the weight initialization, and the presets convnext_tiny, _small,
// _base and _large. State-dict keys, module names and the printed tree are torchvision's:
// `features.0` is the 4×4 stride-4 stem (`Conv2dNormActivation`: `0` conv, `1` LayerNorm2d), then
// each stage (`features.1`, `.3`, `.5`, `.7`: CNBlocks with `block.{0..6}`, `layer_scale`,
// `stochastic_depth`) and, between stages, a downsampling `Sequential(LayerNorm2d, Conv2d 2×2/2)`;
// `avgpool`; `classifier` (`0` LayerNorm2d, `1` Flatten, `2` Linear). Stochastic depth is the
// identity in evaluation mode, as in torchvision.

/// torchvision's ConvNeXt for image classification: input [N, 3, H, W], output logits [N, classes].
public final class ConvNeXt: UnaryModule {
    // MARK: - Configuration

    /// torchvision's `ConvNeXt(block_setting, stochastic_depth_prob, layer_scale, num_classes)`
    /// arguments, decodable from JSON with the same names; `block_setting` is a list of
    /// `{"input_channels", "out_channels" (null for the last stage), "num_layers"}`.
    public struct Configuration: Decodable, Sendable, Equatable {
        /// One stage (`CNBlockConfig`).
        public struct Stage: Decodable, Sendable, Equatable {
            public var inputChannels: Int
            /// Channels after the downsampling layer that follows the stage; nil for the last stage.
            public var outChannels: Int?
            public var numLayers: Int

            public init(_ inputChannels: Int, _ outChannels: Int?, _ numLayers: Int) {
                self.inputChannels = inputChannels
                self.outChannels = outChannels
                self.numLayers = numLayers
            }

            enum CodingKeys: String, CodingKey {
                case inputChannels = "input_channels", outChannels = "out_channels", numLayers = "num_layers"
            }
        }

        public var blockSetting: [Stage]
        public var stochasticDepthProb: Double
        public var layerScale: Double
        public var numClasses: Int

        public init(blockSetting: [Stage], stochasticDepthProb: Double = 0, layerScale: Double = 1e-6, numClasses: Int = 1000) {
            self.blockSetting = blockSetting
            self.stochasticDepthProb = stochasticDepthProb
            self.layerScale = layerScale
            self.numClasses = numClasses
        }

        static let fieldNames = ["block_setting", "stochastic_depth_prob", "layer_scale", "num_classes"]

        /// Decodes the fields; absent ones take the preset's values (`decoder.userInfo[.architecturePreset]`)
        /// or torchvision's defaults.
        public init(from decoder: any Decoder) throws {
            let preset = decoder.userInfo[.architecturePreset] as? Configuration
            let fields = try ConfigurationFields(decoder, architecture: "convnext", known: Self.fieldNames)
            self.init(blockSetting: try fields.value("block_setting", expected: "a non-empty array of {input_channels, out_channels, num_layers}",
                                                     default: preset?.blockSetting) { !$0.isEmpty },
                      stochasticDepthProb: try fields.value("stochastic_depth_prob", expected: "a probability between 0 and 1",
                                                            default: preset?.stochasticDepthProb ?? 0) { $0 >= 0 && $0 <= 1 },
                      layerScale: try fields.value("layer_scale", expected: "a number", default: preset?.layerScale ?? 1e-6) { $0.isFinite },
                      numClasses: try fields.value("num_classes", expected: "a positive integer", default: preset?.numClasses ?? 1000) { $0 > 0 })
            try validate()
        }

        /// Settings torchvision would reject or could not build.
        public func validate() throws {
            guard !blockSetting.isEmpty else {
                throw ModelError.invalidConfiguration(field: "block_setting", expected: "a non-empty array of stages")
            }
            for (index, stage) in blockSetting.enumerated() {
                guard stage.inputChannels > 0, stage.numLayers > 0, (stage.outChannels ?? 1) > 0 else {
                    throw ModelError.invalidConfiguration(field: "block_setting[\(index)]",
                                                          expected: "positive input_channels and num_layers, out_channels positive or null")
                }
                if index + 1 < blockSetting.count, stage.outChannels != blockSetting[index + 1].inputChannels {
                    throw ModelError.invalidConfiguration(field: "block_setting[\(index)].out_channels",
                                                          expected: "the next stage's input_channels (\(blockSetting[index + 1].inputChannels))")
                }
            }
            guard numClasses > 0 else { throw ModelError.invalidConfiguration(field: "num_classes", expected: "a positive integer") }
        }

        public static let tiny = Configuration(blockSetting: [.init(96, 192, 3), .init(192, 384, 3), .init(384, 768, 9), .init(768, nil, 3)],
                                               stochasticDepthProb: 0.1)
        public static let small = Configuration(blockSetting: [.init(96, 192, 3), .init(192, 384, 3), .init(384, 768, 27), .init(768, nil, 3)],
                                                stochasticDepthProb: 0.4)
        public static let base = Configuration(blockSetting: [.init(128, 256, 3), .init(256, 512, 3), .init(512, 1024, 27), .init(1024, nil, 3)],
                                               stochasticDepthProb: 0.5)
        public static let large = Configuration(blockSetting: [.init(192, 384, 3), .init(384, 768, 3), .init(768, 1536, 27), .init(1536, nil, 3)],
                                                stochasticDepthProb: 0.5)

        /// The presets by torchvision's builder names.
        public static let presets: [String: Configuration] = [
            "convnext_tiny": tiny, "convnext_small": small, "convnext_base": base, "convnext_large": large,
        ]

        /// Channels of the features the classifier reads.
        var lastChannels: Int { blockSetting.last!.outChannels ?? blockSetting.last!.inputChannels }
    }

    // MARK: - Modules

    public let configuration: Configuration
    public let features: Sequential
    public let avgpool = AdaptiveAvgPool2d(outputSize: IntPair(1))
    public let classifier: Sequential

    public init(configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
        let stem = configuration.blockSetting[0].inputChannels
        var layers: [UnaryModule] = [
            Conv2dNormActivation(Conv2d(inChannels: 3, outChannels: stem, kernelSize: 4, stride: 4, padding: 0, bias: true),
                                 LayerNorm2d(stem, epsilon: 1e-6)),
        ]
        let totalBlocks = configuration.blockSetting.reduce(0) { $0 + $1.numLayers }
        var blockIndex = 0
        for stage in configuration.blockSetting {
            var blocks: [UnaryModule] = []
            for _ in 0..<stage.numLayers {
                // torchvision divides by (total − 1) in floating point: 0/0 (one block) is NaN there too,
                // harmless because stochastic depth is the identity in evaluation.
                let probability = configuration.stochasticDepthProb * Double(blockIndex) / (Double(totalBlocks) - 1)
                blocks.append(CNBlock(dimension: stage.inputChannels, layerScale: configuration.layerScale,
                                      stochasticDepthProbability: probability.isFinite ? probability : 0))
                blockIndex += 1
            }
            layers.append(Sequential(blocks))
            if let outChannels = stage.outChannels {
                layers.append(Sequential(LayerNorm2d(stage.inputChannels, epsilon: 1e-6),
                                         Conv2d(inChannels: stage.inputChannels, outChannels: outChannels, kernelSize: 2, stride: 2, bias: true)))
            }
        }
        features = Sequential(layers)
        classifier = Sequential(LayerNorm2d(configuration.lastChannels, epsilon: 1e-6), Flatten(startAxis: 1),
                                Linear(inFeatures: configuration.lastChannels, outFeatures: configuration.numClasses))
        super.init()
        initializeWeights()
    }

    /// torchvision's initialization: truncated-normal (std 0.02) convolution and linear weights, zero
    /// biases; LayerNorms ones/zeros; layer scales at `layer_scale`.
    private func initializeWeights() {
        for module in modules() {
            if let conv = module as? Conv2d {
                Initializers.truncatedNormal(conv.weight, standardDeviation: 0.02)
                if let bias = conv.bias { Initializers.zeros(bias) }
            } else if let linear = module as? Linear {
                Initializers.truncatedNormal(linear.weight, standardDeviation: 0.02)
                if let bias = linear.bias { Initializers.zeros(bias) }
            }
        }
    }

    public override func forward(_ input: Tensor) throws -> Tensor {
        guard input.rank == 4, input.shape[1] == 3 else {
            throw ModelError.invalidInput(name: "input", reason: "expected an image batch [N, 3, H, W], got shape \(input.shape)")
        }
        return try classifier(avgpool(features(input)))
    }
}

// MARK: - Blocks

/// torchvision's `Conv2dNormActivation` as ConvNeXt's stem uses it: a convolution and a norm, no activation.
private final class Conv2dNormActivation: Sequential {
    init(_ convolution: Conv2d, _ norm: UnaryModule) {
        super.init([convolution, norm])
    }
}

/// torchvision's `CNBlock`: depthwise 7×7 convolution, channels-last LayerNorm, Linear 4× → GELU →
/// Linear, scaled per channel by `layer_scale`, stochastic depth, plus the input.
private final class CNBlock: UnaryModule {
    let block: Sequential
    // torchvision's `nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)`.
    let layerScale: Parameter
    let stochasticDepth: StochasticDepth
    let layerScaleValue: Double

    init(dimension: Int, layerScale: Double, stochasticDepthProbability: Double) {
        block = Sequential(
            Conv2d(inChannels: dimension, outChannels: dimension, kernelSize: 7, padding: 3, groups: dimension, bias: true),
            Permute([0, 2, 3, 1]),
            LayerNorm(dimension, epsilon: 1e-6),
            Linear(inFeatures: dimension, outFeatures: 4 * dimension),
            GELU(),
            Linear(inFeatures: 4 * dimension, outFeatures: dimension),
            Permute([0, 3, 1, 2]))
        self.layerScale = Parameter(Tensor(shape: [dimension, 1, 1], repeating: Float(layerScale)))
        layerScaleValue = layerScale
        stochasticDepth = StochasticDepth(probability: stochasticDepthProbability, mode: .row)
        super.init()
    }

    override func resetParameters() {
        Initializers.constant(layerScale, Float(layerScaleValue))
    }

    override func forward(_ input: Tensor) throws -> Tensor {
        let branch = try block(input)
        guard branch.shape == input.shape else {
            throw ModelError.invalidInput(name: "input", reason: "block output \(branch.shape) differs from its input \(input.shape)")
        }
        var result = try stochasticDepth(layerScale.value.to(.float32) * branch)
        result += input
        return result
    }
}
