/// The arithmetic a registered model version computes in, as the registry stores it
/// (`model_versions.precision`). The service maps it to `ComputePrecision`; the registry only
/// records it, so a database can hold versions this machine's CPU cannot run.
public enum ModelPrecision: String, CaseIterable, Sendable, CustomStringConvertible {
    /// The default and the reference.
    case float32
    /// bfloat16 GEMM inputs, float32 accumulation.
    case bfloat16
    /// int8 dynamic quantization of the linear layers.
    case int8

    public var description: String { rawValue }

    /// The precision named `text`, or an error naming the field and the accepted values.
    public init(parsing text: String, field: String = "precision") throws {
        guard let precision = ModelPrecision(rawValue: text) else {
            throw RegistryError.invalidPrecision(text, field: field)
        }
        self = precision
    }
}
