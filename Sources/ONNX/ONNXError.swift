/// Everything that can be wrong with an ONNX model or with a run of one: each case renders as one
/// line naming what is wrong and where (the message, field, node or tensor).
///
/// Loading errors (`truncated` … `unsupportedOperators`) are thrown while a model is read or
/// registered, never by a request; `invalidNode` is thrown by a forward pass whose inputs do not
/// fit the graph (a client's shape the graph cannot take).
public enum ONNXError: Error, Equatable, CustomStringConvertible {
    /// The bytes end inside a field of `message`.
    case truncated(message: String, offset: Int)
    /// A field arrived with a wire type its schema does not allow.
    case wrongWireType(message: String, field: Int, wireType: Int, offset: Int)
    /// Bytes that are not valid protobuf for `message` (bad varint, group, reserved wire type).
    case malformed(message: String, reason: String)
    /// Reading would allocate more than the configured limit.
    case tooLarge(what: String, bytes: Int, limit: Int)
    /// A tensor whose dims are negative, overflow, or do not match its data.
    case invalidTensor(name: String, reason: String)
    /// An external data reference that cannot be read or escapes the model's directory.
    case externalData(tensor: String, reason: String)
    /// The graph is not a valid dataflow graph (cycles, dangling inputs, duplicate outputs).
    case invalidGraph(reason: String)
    /// Operators (or opsets) this runtime does not implement: every one is listed.
    case unsupportedOperators([String])
    /// A node whose attributes or inputs are invalid for its operator.
    case invalidNode(node: String, operator: String, reason: String)
    /// A model input that is missing or does not fit the graph's declared input.
    case invalidInput(name: String, reason: String)

    public var description: String {
        switch self {
        case let .truncated(message, offset):
            "truncated model: \(message) ends inside a field at byte \(offset)"
        case let .wrongWireType(message, field, wireType, offset):
            "malformed model: \(message) field \(field) has wire type \(wireType) at byte \(offset)"
        case let .malformed(message, reason):
            "malformed model: \(message): \(reason)"
        case let .tooLarge(what, bytes, limit):
            "model too large: \(what) needs \(bytes) bytes, over the limit of \(limit)"
        case let .invalidTensor(name, reason):
            "invalid tensor '\(name)': \(reason)"
        case let .externalData(tensor, reason):
            "external data of tensor '\(tensor)': \(reason)"
        case let .invalidGraph(reason):
            "invalid graph: \(reason)"
        case let .unsupportedOperators(operators):
            "unsupported ONNX operators: " + operators.joined(separator: ", ")
        case let .invalidNode(node, op, reason):
            "node '\(node)' (\(op)): \(reason)"
        case let .invalidInput(name, reason):
            "input '\(name)': \(reason)"
        }
    }
}
