/// A minimal protobuf encoder for building ONNX models in tests (well-formed and deliberately broken).
enum ProtobufWriter {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value, bytes: [UInt8] = []
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value != 0 { byte |= 0x80 }
            bytes.append(byte)
        } while value != 0
        return bytes
    }

    static func key(_ field: Int, _ wireType: Int) -> [UInt8] { varint(UInt64(field << 3 | wireType)) }
    static func int(_ field: Int, _ value: Int64) -> [UInt8] { key(field, 0) + varint(UInt64(bitPattern: value)) }
    static func bytes(_ field: Int, _ payload: [UInt8]) -> [UInt8] { key(field, 2) + varint(UInt64(payload.count)) + payload }
    static func string(_ field: Int, _ text: String) -> [UInt8] { bytes(field, Array(text.utf8)) }

    /// TensorProto: dims (unpacked), data_type, name, and raw_data or float_data (packed).
    static func tensor(name: String, dims: [Int64], dataType: Int64 = 1, raw: [UInt8]? = nil, floats: [Float]? = nil,
                       external: [(String, String)] = []) -> [UInt8] {
        var result = dims.flatMap { int(1, $0) } + int(2, dataType) + string(8, name)
        if let raw { result += bytes(9, raw) }
        if let floats { result += bytes(4, floats.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }) }
        if !external.isEmpty {
            for (key, value) in external { result += bytes(13, string(1, key) + string(2, value)) }
            result += int(14, 1)
        }
        return result
    }

    static func node(_ operatorType: String, inputs: [String], outputs: [String], name: String = "", domain: String = "",
                     attributes: [[UInt8]] = []) -> [UInt8] {
        inputs.flatMap { string(1, $0) } + outputs.flatMap { string(2, $0) } + string(3, name) + string(4, operatorType)
            + attributes.flatMap { bytes(5, $0) } + (domain.isEmpty ? [] : string(7, domain))
    }

    static func intsAttribute(_ name: String, _ values: [Int64]) -> [UInt8] {
        string(1, name) + values.flatMap { int(8, $0) } + int(20, 7)
    }

    static func stringAttribute(_ name: String, _ value: String) -> [UInt8] {
        string(1, name) + string(4, value) + int(20, 3)
    }

    /// ValueInfoProto of a float tensor with the given dims (-1: symbolic "batch").
    static func valueInfo(_ name: String, dims: [Int64], elementType: Int64 = 1) -> [UInt8] {
        let shape = dims.flatMap { dim in bytes(1, dim < 0 ? string(2, "batch") : int(1, dim)) }
        return string(1, name) + bytes(2, bytes(1, int(1, elementType) + bytes(2, shape)))
    }

    static func model(nodes: [[UInt8]], initializers: [[UInt8]] = [], inputs: [[UInt8]], outputs: [[UInt8]],
                      opset: Int64 = 17, extraOpsets: [(String, Int64)] = []) -> [UInt8] {
        let graph = nodes.flatMap { bytes(1, $0) } + string(2, "test") + initializers.flatMap { bytes(5, $0) }
            + inputs.flatMap { bytes(11, $0) } + outputs.flatMap { bytes(12, $0) }
        let opsets = bytes(8, string(1, "") + int(2, opset)) + extraOpsets.flatMap { bytes(8, string(1, $0.0) + int(2, $0.1)) }
        return int(1, 8) + string(2, "test") + bytes(7, graph) + opsets
    }
}
