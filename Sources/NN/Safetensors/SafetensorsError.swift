/// Why a safetensors file or body could not be read or written. Each case names the offending
/// tensor or field; a malformed file is always one of these, never a crash.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened, read, mapped or written.
    case io(path: String, reason: String)
    /// Fewer than the 8 bytes of the header length.
    case fileTooSmall(byteCount: Int)
    /// The header length exceeds the format's limit (100 MB, as in the reference implementation).
    case headerTooLarge(length: UInt64, limit: Int)
    /// The header length points past the end of the file.
    case headerBeyondFile(length: UInt64, fileSize: Int)
    /// The header is not valid UTF-8 JSON, or not a JSON object.
    case invalidHeader(reason: String)
    /// A key appears twice in the header (or twice in the tensors given to the writer).
    case duplicateKey(String)
    /// `__metadata__` is not an object of string values.
    case invalidMetadata(reason: String)
    /// The tensor's entry is not an object.
    case invalidTensorEntry(tensor: String, reason: String)
    /// The tensor's entry lacks `dtype`, `shape` or `data_offsets`.
    case missingField(tensor: String, field: String)
    /// The dtype is not one of F32, F16, BF16, I64, I32, U8, BOOL.
    case unknownDType(tensor: String, dtype: String)
    /// The shape is not an array of non-negative integers (or its size overflows).
    case invalidShape(tensor: String, reason: String)
    /// `data_offsets` is not `[begin, end]` with integers 0 ≤ begin ≤ end.
    case invalidOffsets(tensor: String, reason: String)
    /// end − begin differs from shape × dtype size.
    case sizeMismatch(tensor: String, expectedByteCount: Int, actualByteCount: Int)
    /// Two tensors' byte ranges overlap.
    case overlappingTensors(String, String)
    /// Unused bytes between two tensors (the format requires tensors to tile the data).
    case gapBeforeTensor(tensor: String, begin: Int, previousEnd: Int)
    /// The tensor's bytes extend past the end of the file.
    case truncatedData(tensor: String, end: Int, dataByteCount: Int)
    /// Bytes after the last tensor.
    case trailingBytes(count: Int)
    /// A BOOL tensor holds a byte other than 0 or 1.
    case invalidBoolValue(tensor: String, byte: UInt8)
    /// No tensor of that name.
    case tensorNotFound(String)
    /// The writer was given an empty name or the reserved `__metadata__`.
    case invalidTensorName(String)

    public var description: String {
        switch self {
        case let .io(path, reason): "safetensors: cannot access \(path): \(reason)"
        case let .fileTooSmall(count): "safetensors: \(count) bytes is too small for the 8-byte header length"
        case let .headerTooLarge(length, limit): "safetensors: header length \(length) exceeds the limit of \(limit) bytes"
        case let .headerBeyondFile(length, size): "safetensors: header length \(length) goes past the end of the \(size)-byte file"
        case let .invalidHeader(reason): "safetensors: invalid header: \(reason)"
        case let .duplicateKey(key): "safetensors: duplicate key '\(key)'"
        case let .invalidMetadata(reason): "safetensors: invalid __metadata__: \(reason)"
        case let .invalidTensorEntry(tensor, reason): "safetensors: tensor '\(tensor)': \(reason)"
        case let .missingField(tensor, field): "safetensors: tensor '\(tensor)' has no '\(field)'"
        case let .unknownDType(tensor, dtype): "safetensors: tensor '\(tensor)' has unsupported dtype '\(dtype)' (expected F32, F16, BF16, I64, I32, U8 or BOOL)"
        case let .invalidShape(tensor, reason): "safetensors: tensor '\(tensor)' has an invalid shape: \(reason)"
        case let .invalidOffsets(tensor, reason): "safetensors: tensor '\(tensor)' has invalid data_offsets: \(reason)"
        case let .sizeMismatch(tensor, expected, actual): "safetensors: tensor '\(tensor)' needs \(expected) bytes for its shape and dtype, its data_offsets span \(actual)"
        case let .overlappingTensors(first, second): "safetensors: the data of tensors '\(first)' and '\(second)' overlap"
        case let .gapBeforeTensor(tensor, begin, end): "safetensors: unused bytes \(end)..<\(begin) before tensor '\(tensor)'"
        case let .truncatedData(tensor, end, count): "safetensors: tensor '\(tensor)' ends at byte \(end) of the data, which has only \(count) bytes (truncated file)"
        case let .trailingBytes(count): "safetensors: \(count) unused bytes after the last tensor"
        case let .invalidBoolValue(tensor, byte): "safetensors: BOOL tensor '\(tensor)' holds the byte \(byte) (expected 0 or 1)"
        case let .tensorNotFound(name): "safetensors: no tensor named '\(name)'"
        case let .invalidTensorName(name): "safetensors: invalid tensor name '\(name)'"
        }
    }
}
