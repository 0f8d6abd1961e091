import Tensors

/// A decoded `AttributeProto` value. Fields (onnx.proto): name = 1, f = 2, i = 3, s = 4, t = 5,
/// g = 6, floats = 7, ints = 8, strings = 9, tensors = 10, graphs = 11, type = 20. Graph-valued
/// attributes (control flow: If, Loop, Scan) are recorded as `.graph` so that loading can name
/// them as unsupported.
public enum ONNXAttribute: Sendable {
    case float(Float)
    case int(Int64)
    case string(String)
    case tensor(Tensor)
    case floats([Float])
    case ints([Int64])
    case strings([String])
    case graph
    /// A type this runtime does not read (sparse tensors, type protos).
    case unsupported(type: Int64)

    static func decode(_ reader: ProtobufReader, context: ONNXTensorProto.Context) throws -> (name: String, value: ONNXAttribute) {
        var reader = reader
        var name = "", type: Int64 = 0
        var f: Float?, i: Int64?, s: String?, t: Tensor?
        var floats: [UInt32] = [], ints: [Int64] = [], strings: [String] = []
        var hasGraph = false
        while let (field, wire) = try reader.nextField() {
            switch field {
            case 1: name = try reader.readString(wire, field: field)
            case 2: f = try reader.readFloat(wire, field: field)
            case 3: i = try reader.readInt64(wire, field: field)
            case 4: s = try reader.readString(wire, field: field)
            case 5:
                let range = try reader.readMessage(wire, field: field)
                t = try ONNXTensorProto.decode(reader.nested(range, message: "TensorProto"), context: context).tensor
            case 6, 11:
                _ = try reader.readMessage(wire, field: field)
                hasGraph = true
            case 7: try reader.readRepeatedFixed32(wire, field: field, into: &floats)
            case 8: try reader.readRepeatedInt64(wire, field: field, into: &ints)
            case 9: strings.append(try reader.readString(wire, field: field))
            case 20: type = try reader.readInt64(wire, field: field)
            default: try reader.skip(wire, field: field)
            }
        }
        let value: ONNXAttribute
        switch type {
        case 1: value = .float(f ?? 0)
        case 2: value = .int(i ?? 0)
        case 3: value = .string(s ?? "")
        case 4:
            guard let t else { throw ONNXError.malformed(message: "AttributeProto", reason: "tensor attribute '\(name)' has no tensor") }
            value = .tensor(t)
        case 5, 10: value = .graph
        case 6: value = .floats(floats.map { Float(bitPattern: $0) })
        case 7: value = .ints(ints)
        case 8: value = .strings(strings)
        case 0:
            // IR < 3 files may omit the type: infer it from the field present.
            if let t { value = .tensor(t) } else if let f { value = .float(f) } else if let i { value = .int(i) }
            else if let s { value = .string(s) } else if !ints.isEmpty { value = .ints(ints) }
            else if !floats.isEmpty { value = .floats(floats.map { Float(bitPattern: $0) }) }
            else if hasGraph { value = .graph } else { value = .strings(strings) }
        default: value = .unsupported(type: type)
        }
        return (name, value)
    }
}
