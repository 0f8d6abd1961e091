import NN
import Tensors

/// Hugging Face's activation modules for `hidden_act` (`ACT2FN`), printed with their class names.
final class HiddenActivation: UnaryModule {
    /// The `hidden_act` values supported.
    static let names = ["gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "swish", "tanh", "quick_gelu"]

    let name: String

    private init(name: String) {
        self.name = name
        super.init()
    }

    /// The module Hugging Face builds for `name` (torch's own ReLU/SiLU/Tanh where it uses them).
    static func make(_ name: String) -> UnaryModule {
        switch name {
        case "relu": ReLU()
        case "swish": SiLU()
        case "tanh": Tanh()
        default: HiddenActivation(name: name)
        }
    }

    /// The GELU form, or nil for SiLU and quick_gelu.
    var geluApproximation: GELUApproximation? {
        switch name {
        case "gelu": GELUApproximation.none
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": .tanh
        default: nil
        }
    }

    override var typeName: String {
        switch name {
        case "gelu": "GELUActivation"
        case "gelu_new": "NewGELUActivation"
        case "gelu_pytorch_tanh": "GELUTanh"
        case "gelu_fast": "FastGELUActivation"
        case "quick_gelu": "QuickGELUActivation"
        default: "SiLUActivation"
        }
    }

    override func forward(_ input: Tensor) throws -> Tensor {
        let x = input.to(.float32)
        if let approximation = geluApproximation { return x.gelu(approximation: approximation) }
        // CLIP's x·σ(1.702·x).
        if name == "quick_gelu" { return x * (x * 1.702).sigmoid() }
        return x.silu()
    }
}
