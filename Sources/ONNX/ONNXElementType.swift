import Tensors

/// `TensorProto.DataType`: the element types ONNX declares, and how this runtime holds each.
///
/// The runtime computes in three dtypes: float32 (every floating type: float16, bfloat16 and double
/// values are converted on load, so a double model runs in single precision), int64 (every integer
/// type, so shape arithmetic never overflows) and bool. Types with no exact place in those
/// (strings, complex, 8/6/4/2-bit floats and integers) are rejected when the model loads.
public enum ONNXElementType: Int, Sendable {
    case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, string = 8, bool = 9
    case float16 = 10, double = 11, uint32 = 12, uint64 = 13, complex64 = 14, complex128 = 15, bfloat16 = 16

    /// Bytes per element in `raw_data`, nil for types without a fixed size.
    var rawByteSize: Int? {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .float16, .bfloat16: 2
        case .float, .int32, .uint32: 4
        case .int64, .double, .uint64, .complex64: 8
        case .complex128: 16
        case .string: nil
        }
    }

    /// The dtype values of this type are computed in, nil when unsupported.
    var computeType: DType? {
        switch self {
        case .float, .float16, .bfloat16, .double: .float32
        case .uint8, .int8, .uint16, .int16, .int32, .int64, .uint32, .uint64: .int64
        case .bool: .bool
        case .string, .complex64, .complex128: nil
        }
    }

    /// The name in the ONNX schema (`FLOAT`, `INT64`).
    var schemaName: String {
        switch self {
        case .float: "FLOAT"
        case .uint8: "UINT8"
        case .int8: "INT8"
        case .uint16: "UINT16"
        case .int16: "INT16"
        case .int32: "INT32"
        case .int64: "INT64"
        case .string: "STRING"
        case .bool: "BOOL"
        case .float16: "FLOAT16"
        case .double: "DOUBLE"
        case .uint32: "UINT32"
        case .uint64: "UINT64"
        case .complex64: "COMPLEX64"
        case .complex128: "COMPLEX128"
        case .bfloat16: "BFLOAT16"
        }
    }
}
