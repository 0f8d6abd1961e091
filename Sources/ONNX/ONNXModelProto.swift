import Foundation

/// A decoded `ModelProto`: ir_version = 1, producer_name = 2, producer_version = 3, graph = 7,
/// opset_import = 8 (`OperatorSetIdProto`: domain = 1, version = 2), functions = 25.
///
/// Reading is strict about structure (`ONNXError` for truncation, wrong wire types, bad dims) and
/// bounded: `limit` caps the file and everything decoded from it (initializers, external data).
public struct ONNXModelProto: Sendable {
    public var irVersion: Int64
    public var producerName: String
    public var producerVersion: String
    /// Imported opset versions by domain ("" is the default domain).
    public var opsets: [String: Int64]
    public var graph: ONNXGraphProto
    /// Names of model-local functions (`FunctionProto`); calls to them are reported as unsupported.
    public var functionNames: [String]

    /// The default maximum number of bytes a model read may allocate: 4 GiB.
    public static let defaultLimit = 4 << 30

    /// Decodes a model from bytes. `directory` resolves external data (nil: none allowed).
    public static func decode(_ data: Data, directory: URL? = nil, limit: Int = defaultLimit) throws -> ONNXModelProto {
        let budget = AllocationBudget(limit: limit)
        try budget.charge(data.count, for: "the model file")
        return try data.withUnsafeBytes { bytes in
            let reader = ProtobufReader(bytes: bytes, range: 0..<bytes.count, message: "ModelProto", budget: budget)
            return try decode(reader, context: ONNXTensorProto.Context(directory: directory, budget: budget))
        }
    }

    /// Reads and decodes the model file at `url`; external data is read from its directory.
    public static func read(contentsOf url: URL, limit: Int = defaultLimit) throws -> ONNXModelProto {
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
        guard let size else { throw ONNXError.malformed(message: "ModelProto", reason: "cannot read '\(url.path)'") }
        guard size <= limit else { throw ONNXError.tooLarge(what: "the model file", bytes: size, limit: limit) }
        let data: Data
        do {
            // Read, not mapped: what the graph keeps must not depend on the file (a file truncated
            // under a mapping faults on the next access).
            data = try Data(contentsOf: url)
        } catch {
            throw ONNXError.malformed(message: "ModelProto", reason: "cannot read '\(url.path)' (\(error.localizedDescription))")
        }
        return try decode(data, directory: url.deletingLastPathComponent(), limit: limit)
    }

    static func decode(_ reader: ProtobufReader, context: ONNXTensorProto.Context) throws -> ONNXModelProto {
        var reader = reader
        var model = ONNXModelProto(irVersion: 0, producerName: "", producerVersion: "", opsets: [:],
                                   graph: ONNXGraphProto(name: "", nodes: [], initializers: [], inputs: [], outputs: []),
                                   functionNames: [])
        var sawGraph = false
        while let (field, wire) = try reader.nextField() {
            switch field {
            case 1: model.irVersion = try reader.readInt64(wire, field: field)
            case 2: model.producerName = try reader.readString(wire, field: field)
            case 3: model.producerVersion = try reader.readString(wire, field: field)
            case 7:
                model.graph = try ONNXGraphProto.decode(reader.nested(try reader.readMessage(wire, field: field), message: "GraphProto"),
                                                        context: context)
                sawGraph = true
            case 8:
                var opset = reader.nested(try reader.readMessage(wire, field: field), message: "OperatorSetIdProto")
                var domain = "", version: Int64 = 0
                while let (opsetField, opsetWire) = try opset.nextField() {
                    switch opsetField {
                    case 1: domain = try opset.readString(opsetWire, field: opsetField)
                    case 2: version = try opset.readInt64(opsetWire, field: opsetField)
                    default: try opset.skip(opsetWire, field: opsetField)
                    }
                }
                model.opsets[domain == "ai.onnx" ? "" : domain] = version
            case 25:
                var function = reader.nested(try reader.readMessage(wire, field: field), message: "FunctionProto")
                while let (functionField, functionWire) = try function.nextField() {
                    if functionField == 1 { model.functionNames.append(try function.readString(functionWire, field: functionField)) }
                    else { try function.skip(functionWire, field: functionField) }
                }
            default: try reader.skip(wire, field: field)
            }
        }
        guard sawGraph else { throw ONNXError.malformed(message: "ModelProto", reason: "no graph (field 7)") }
        return model
    }
}
