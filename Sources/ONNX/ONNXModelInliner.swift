import Foundation

/// Rewrites a model whose initializers keep their values in external data files into one
/// self-contained file (each external tensor's bytes moved into its `raw_data`), so that the
/// registry's checksum of the one file covers every weight. Everything else is copied byte for
/// byte. Only initializers of the main graph are rewritten (torch.onnx puts external data nowhere else).
public enum ONNXModelInliner {
    /// The self-contained model, or nil when `url` references no external data.
    public static func inlinedModel(at url: URL, limit: Int = ONNXModelProto.defaultLimit) throws -> Data? {
        let model = try ONNXModelProto.read(contentsOf: url, limit: limit)
        guard !model.graph.externalLocations.isEmpty else { return nil }
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        let budget = AllocationBudget(limit: limit)
        let initializers = Dictionary(model.graph.initializers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return try data.withUnsafeBytes { bytes -> Data in
            var top = ProtobufReader(bytes: bytes, range: 0..<bytes.count, message: "ModelProto", budget: budget)
            var output: [UInt8] = []
            while let (field, wire) = try top.nextField() {
                let start = top.position
                try top.skip(wire, field: field)
                let end = top.position
                guard field == 7, wire == .lengthDelimited else {
                    output += key(field, wire.rawValue) + Array(bytes[start..<end])
                    continue
                }
                var lengthReader = ProtobufReader(bytes: bytes, range: start..<end, message: "ModelProto", budget: budget)
                let graphRange = try lengthReader.readLengthDelimited()
                let context = ONNXTensorProto.Context(directory: url.deletingLastPathComponent(), budget: budget)
                let graph = try rewriteGraph(bytes, graphRange, initializers: initializers, context: context)
                output += key(7, 2) + varint(UInt64(graph.count)) + graph
            }
            return Data(output)
        }
    }

    private static func rewriteGraph(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, initializers: [String: ONNXTensorProto],
                                     context: ONNXTensorProto.Context) throws -> [UInt8] {
        let budget = context.budget
        var reader = ProtobufReader(bytes: bytes, range: range, message: "GraphProto", budget: budget)
        var output: [UInt8] = []
        while let (field, wire) = try reader.nextField() {
            let start = reader.position
            try reader.skip(wire, field: field)
            let end = reader.position
            guard field == 5, wire == .lengthDelimited else {
                output += key(field, wire.rawValue) + Array(bytes[start..<end])
                continue
            }
            var lengthReader = ProtobufReader(bytes: bytes, range: start..<end, message: "GraphProto", budget: budget)
            let tensorRange = try lengthReader.readLengthDelimited()
            let tensor = try rewriteTensor(bytes, tensorRange, initializers: initializers, context: context)
            output += key(5, 2) + varint(UInt64(tensor.count)) + tensor
        }
        return output
    }

    /// A TensorProto without its external-data fields (13, 14), with raw_data (9) holding the values.
    private static func rewriteTensor(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, initializers: [String: ONNXTensorProto],
                                      context: ONNXTensorProto.Context) throws -> [UInt8] {
        var reader = ProtobufReader(bytes: bytes, range: range, message: "TensorProto", budget: context.budget)
        var kept: [UInt8] = []
        var name = "", external: [String: String] = [:]
        while let (field, wire) = try reader.nextField() {
            let start = reader.position
            switch field {
            case 8: name = try reader.readString(wire, field: field)
            case 13:
                let (entryKey, value) = try ONNXTensorProto.decodeEntry(reader.nested(try reader.readMessage(wire, field: field),
                                                                                      message: "StringStringEntryProto"))
                external[entryKey] = value
                continue
            case 14:
                try reader.skip(wire, field: field)
                continue
            default: try reader.skip(wire, field: field)
            }
            kept += key(field, wire.rawValue) + Array(bytes[start..<reader.position])
        }
        guard !external.isEmpty, let tensor = initializers[name], let size = tensor.elementType.rawByteSize else { return Array(bytes[range]) }
        // The file's bytes as they are (the declared element type, little-endian): nothing converted.
        let raw = try ONNXTensorProto.readExternal(external, tensor: name, byteCount: tensor.tensor.count * size, context: context)
        return kept + key(9, 2) + varint(UInt64(raw.count)) + Array(raw)
    }

    private static func key(_ field: Int, _ wireType: Int) -> [UInt8] { varint(UInt64(field << 3 | wireType)) }

    private static func varint(_ value: UInt64) -> [UInt8] {
        var value = value, result: [UInt8] = []
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value != 0 { byte |= 0x80 }
            result.append(byte)
        } while value != 0
        return result
    }
}
