import NN
import Tensors

// Mirrors torchvision.ops.MLP (torchvision/ops/misc.py, v0.29), the block torchvision's ViT builds
// its MLPBlock from: for each hidden width but the last, Linear → [norm] → activation → Dropout,
// then Linear → Dropout. Layers are a Sequential keyed `0`, `1`, … exactly as torchvision's, so
// state dicts of a `torchvision.ops.MLP` (or of an `nn.Sequential` laid out the same way) load
// as they are.

/// A multi-layer perceptron over the last axis: input [..., in_channels] → [..., hidden_channels.last].
public final class MLP: Sequential {
    // MARK: - Configuration

    /// torchvision's `MLP(in_channels, hidden_channels, norm_layer, activation_layer, bias, dropout)`
    /// as JSON: `in_channels`, `hidden_channels` (the last entry is the output width), `norm`
    /// (`none` or `layer_norm`), `activation` (`relu`, `gelu`, `gelu_tanh`, `silu`, `tanh`,
    /// `sigmoid`, `identity`), `bias`, `dropout`.
    public struct Configuration: Decodable, Sendable, Equatable {
        public enum Norm: String, Sendable, Codable, CaseIterable {
            case none
            case layerNorm = "layer_norm"
        }

        public enum Activation: String, Sendable, Codable, CaseIterable {
            case relu
            case gelu
            case geluTanh = "gelu_tanh"
            case silu
            case tanh
            case sigmoid
            case identity

            func makeModule() -> UnaryModule {
                switch self {
                case .relu: ReLU()
                case .gelu: GELU()
                case .geluTanh: GELU(approximation: .tanh)
                case .silu: SiLU()
                case .tanh: Tanh()
                case .sigmoid: Sigmoid()
                case .identity: Identity()
                }
            }
        }

        public var inChannels: Int
        public var hiddenChannels: [Int]
        public var norm: Norm
        public var activation: Activation
        public var bias: Bool
        public var dropout: Double

        public init(inChannels: Int, hiddenChannels: [Int], norm: Norm = .none, activation: Activation = .relu,
                    bias: Bool = true, dropout: Double = 0) {
            self.inChannels = inChannels
            self.hiddenChannels = hiddenChannels
            self.norm = norm
            self.activation = activation
            self.bias = bias
            self.dropout = dropout
        }

        static let fieldNames = ["in_channels", "hidden_channels", "norm", "activation", "bias", "dropout"]

        public init(from decoder: any Decoder) throws {
            let fields = try ConfigurationFields(decoder, architecture: "mlp", known: Self.fieldNames)
            self.init(inChannels: try fields.value("in_channels", expected: "a positive integer") { $0 > 0 },
                      hiddenChannels: try fields.value("hidden_channels", expected: "a non-empty array of positive integers") {
                          !$0.isEmpty && $0.allSatisfy { $0 > 0 }
                      },
                      norm: Norm(rawValue: try fields.choice("norm", from: Norm.allCases.map(\.rawValue), default: "none"))!,
                      activation: Activation(rawValue: try fields.choice("activation", from: Activation.allCases.map(\.rawValue),
                                                                         default: "relu"))!,
                      bias: try fields.value("bias", expected: "true or false", default: true),
                      dropout: try fields.value("dropout", expected: "a probability between 0 and 1", default: 0) { $0 >= 0 && $0 <= 1 })
            try validate()
        }

        public func validate() throws {
            guard inChannels > 0 else { throw ModelError.invalidConfiguration(field: "in_channels", expected: "a positive integer") }
            guard !hiddenChannels.isEmpty, hiddenChannels.allSatisfy({ $0 > 0 }) else {
                throw ModelError.invalidConfiguration(field: "hidden_channels", expected: "a non-empty array of positive integers")
            }
            guard dropout >= 0, dropout <= 1 else {
                throw ModelError.invalidConfiguration(field: "dropout", expected: "a probability between 0 and 1")
            }
        }
    }

    // MARK: - Modules

    public let configuration: Configuration

    public init(configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
        var layers: [UnaryModule] = []
        var width = configuration.inChannels
        for hidden in configuration.hiddenChannels.dropLast() {
            layers.append(Linear(inFeatures: width, outFeatures: hidden, bias: configuration.bias))
            if configuration.norm == .layerNorm { layers.append(LayerNorm(hidden)) }
            layers.append(configuration.activation.makeModule())
            layers.append(Dropout(probability: configuration.dropout))
            width = hidden
        }
        layers.append(Linear(inFeatures: width, outFeatures: configuration.hiddenChannels.last!, bias: configuration.bias))
        layers.append(Dropout(probability: configuration.dropout))
        super.init(layers)
    }

    public override func forward(_ input: Tensor) throws -> Tensor {
        guard input.rank >= 1, input.shape.last == configuration.inChannels, input.dtype.isFloatingPoint else {
            throw ModelError.invalidInput(name: "input", reason: "expected a floating-point [..., \(configuration.inChannels)] tensor, got \(input.dtype) \(input.shape)")
        }
        return try super.forward(input)
    }
}
