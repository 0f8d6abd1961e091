import Tensors

/// One input tensor of a request, validated (shape against element count) but not yet converted:
/// the element type the model needs decides the conversion (`tensor(as:)`).
public struct RequestTensor: Sendable {
    /// Where the data came from.
    public enum Payload: Sendable {
        /// JSON numbers, flat or nested.
        case numbers(JSONNumberArray)
        /// Little-endian bytes of `dtype` (base64 text or Triton binary data).
        case bytes([UInt8], dtype: DType)
        /// BYTES elements (V2): each element's bytes.
        case strings([[UInt8]])
        /// JSON booleans (V2 BOOL), row-major.
        case booleans([Bool])
    }

    public var name: String
    public var shape: [Int]
    public var payload: Payload
    /// The element type the client declared (V2 `datatype`, native `dtype`), when it did.
    public var declaredDType: DType?
    /// The request field this tensor came from, for errors (`inputs.input`, `inputs[0]`).
    public var field: String

    public init(name: String, shape: [Int], payload: Payload, declaredDType: DType?, field: String) throws(RequestError) {
        self.name = name
        self.shape = shape
        self.payload = payload
        self.declaredDType = declaredDType
        self.field = field
        let expected = Tensor.elementCount(shape)
        switch payload {
        case .numbers(let numbers):
            guard numbers.count == expected else {
                throw RequestError(field: "\(field).data", "has \(numbers.count) numbers, shape \(shape) needs \(expected)")
            }
            // Nested data must nest like the shape (flat data is always fine).
            if numbers.shape.count > 1 && numbers.shape != shape {
                throw RequestError(field: "\(field).data", "is nested as \(numbers.shape), which does not match shape \(shape)")
            }
        case .bytes(let bytes, let dtype):
            guard bytes.count == expected * dtype.byteSize else {
                throw RequestError(field: "\(field).data", "has \(bytes.count) bytes, shape \(shape) of \(dtype) needs \(expected * dtype.byteSize)")
            }
        case .strings(let strings):
            guard strings.count == expected else {
                throw RequestError(field: "\(field).data", "has \(strings.count) elements, shape \(shape) needs \(expected)")
            }
        case .booleans(let values):
            guard values.count == expected else {
                throw RequestError(field: "\(field).data", "has \(values.count) elements, shape \(shape) needs \(expected)")
            }
        }
    }

    public var elementCount: Int { Tensor.elementCount(shape) }

    /// The values as a tensor of `dtype` with `shape`. JSON numbers convert exactly (integers must
    /// be whole and in range, floats round to nearest); binary data of another dtype converts
    /// between float types or between integer types, never from float to integer.
    public func tensor(as dtype: DType) throws(RequestError) -> Tensor {
        switch payload {
        case .numbers(let numbers):
            do {
                return try numbers.tensor(dtype: dtype, shape: shape)
            } catch {
                throw RequestError(field: "\(field).data", error.description)
            }
        case .bytes(let bytes, let sourceType):
            guard sourceType == dtype || (sourceType.isFloatingPoint == dtype.isFloatingPoint) else {
                throw RequestError(field: field, "has dtype \(sourceType), the model expects \(dtype)")
            }
            // The bytes are little-endian, as this machine is (x86-64, arm64).
            let storage = TensorStorage(byteCount: bytes.count)
            bytes.withUnsafeBytes { source in
                if let address = source.baseAddress { storage.base.copyMemory(from: address, byteCount: source.count) }
            }
            let tensor = Tensor(shape: shape, dtype: sourceType, storage: storage)
            if !dtype.isFloatingPoint && sourceType != dtype && dtype != .int64 {
                // Narrowing integers must not wrap: every value has to fit the target type.
                let range: ClosedRange<Int64> = switch dtype {
                case .int32: Int64(Int32.min)...Int64(Int32.max)
                case .uint8: 0...255
                default: 0...1
                }
                if let index = tensor.toInt64Array().firstIndex(where: { !range.contains($0) }) {
                    throw RequestError(field: "\(field).data", "element \(index) does not fit in \(dtype), which the model expects")
                }
            }
            return tensor.to(dtype)
        case .strings:
            throw RequestError(field: field, "holds BYTES elements, the model expects \(dtype)")
        case .booleans(let values):
            guard dtype == .bool || !dtype.isFloatingPoint else {
                throw RequestError(field: field, "holds BOOL elements, the model expects \(dtype)")
            }
            return Tensor(shape: shape, elements: values).to(dtype)
        }
    }
}
