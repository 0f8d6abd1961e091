import Tensors

// Input checks and dtype handling shared by the layers.

extension Module {
    /// An `invalidInput` error naming this module's type.
    final func invalidInput(_ reason: String) -> ModuleError {
        .invalidInput(module: typeName, reason: reason)
    }

    /// `input` as float32 (layers compute in float32); integer inputs are an error.
    final func floatInput(_ input: Tensor) throws -> Tensor {
        guard input.dtype.isFloatingPoint else {
            throw invalidInput("expected a floating-point input, got \(input.dtype) \(input.shape)")
        }
        return input.dtype == .float32 ? input : input.to(.float32)
    }

    /// Throws unless `input` has one of `ranks`.
    final func requireRank(_ input: Tensor, _ ranks: Set<Int>, _ what: String) throws {
        guard ranks.contains(input.rank) else {
            throw invalidInput("expected \(what), got shape \(input.shape)")
        }
    }
}

extension TensorBox {
    /// The value in float32 for computing (weights may be stored as float16/bfloat16).
    var float32Value: Tensor {
        let value = self.value
        return value.dtype == .float32 ? value : value.to(.float32)
    }
}

/// Python literal spellings for PyTorch-style descriptions (`extraDescription`).
public enum PythonLiteral {
    public static func bool(_ value: Bool) -> String { value ? "True" : "False" }

    /// `repr(float)`: Swift's shortest round-trip form matches Python's (`1e-05`, `0.1`, `1.0`).
    public static func float(_ value: Double) -> String { "\(value)" }

    /// A tuple of ints: `(768,)`, `(2, 3)`.
    public static func tuple(_ values: [Int]) -> String {
        values.count == 1 ? "(\(values[0]),)" : "(" + values.map(String.init).joined(separator: ", ") + ")"
    }

    public static func string(_ value: String) -> String { "'\(value)'" }
}
