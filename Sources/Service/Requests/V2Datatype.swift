import Tensors

/// An Open Inference Protocol (KServe V2 / Triton) tensor datatype that Periscope exchanges.
public enum V2Datatype: String, Sendable, CaseIterable {
    case bool = "BOOL"
    case uint8 = "UINT8"
    case int32 = "INT32"
    case int64 = "INT64"
    case fp16 = "FP16"
    case fp32 = "FP32"
    case bf16 = "BF16"
    /// Variable-length byte strings; binary form: 4-byte little-endian length, then the bytes.
    case bytes = "BYTES"

    /// The protocol's other datatypes, named in the error for them.
    static let unsupported = ["INT8", "INT16", "UINT16", "UINT32", "UINT64", "FP64"]

    /// The tensor dtype; nil for BYTES.
    public var dtype: DType? {
        switch self {
        case .bool: .bool
        case .uint8: .uint8
        case .int32: .int32
        case .int64: .int64
        case .fp16: .float16
        case .fp32: .float32
        case .bf16: .bfloat16
        case .bytes: nil
        }
    }

    /// The datatype of a tensor dtype.
    public init(_ dtype: DType) {
        switch dtype {
        case .bool: self = .bool
        case .uint8: self = .uint8
        case .int32: self = .int32
        case .int64: self = .int64
        case .float16: self = .fp16
        case .float32: self = .fp32
        case .bfloat16: self = .bf16
        }
    }
}
