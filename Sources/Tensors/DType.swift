/// The element type of a tensor's storage.
///
/// Compute is float32; the other types exist for loading weights (float16/bfloat16),
/// indices (int64/int32), images (uint8) and responses (float16).
public enum DType: String, Sendable, CaseIterable, Codable {
    case float32
    case float16
    case bfloat16
    case int64
    case int32
    case uint8
    case bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: 4
        case .float16, .bfloat16: 2
        case .int64: 8
        case .uint8, .bool: 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16: true
        default: false
        }
    }

    /// The dtype tag safetensors uses (`F32`, `F16`, `BF16`, `I64`, `I32`, `U8`, `BOOL`).
    public var safetensorsName: String {
        switch self {
        case .float32: "F32"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .int64: "I64"
        case .int32: "I32"
        case .uint8: "U8"
        case .bool: "BOOL"
        }
    }

    public init?(safetensorsName: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = match
    }
}
