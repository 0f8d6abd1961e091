/// A decoded `GraphProto`: node = 1, name = 2, initializer = 5, input = 11, output = 12
/// (value_info = 13 and sparse initializers are not read: shapes are inferred by running).
public struct ONNXGraphProto: Sendable {
    public var name: String
    /// Nodes in file order (not necessarily topological; see `ONNXGraphPlan`).
    public var nodes: [ONNXNode]
    public var initializers: [ONNXTensorProto]
    /// Declared inputs; for IR < 4 this may include initializers.
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]

    /// External data files the initializers were read from, in order (with repeats).
    var externalLocations: [String] { initializers.compactMap(\.externalLocation) }

    static func decode(_ reader: ProtobufReader, context: ONNXTensorProto.Context) throws -> ONNXGraphProto {
        var reader = reader
        var graph = ONNXGraphProto(name: "", nodes: [], initializers: [], inputs: [], outputs: [])
        while let (field, wire) = try reader.nextField() {
            switch field {
            case 1: graph.nodes.append(try ONNXNode.decode(reader.nested(try reader.readMessage(wire, field: field), message: "NodeProto"), context: context))
            case 2: graph.name = try reader.readString(wire, field: field)
            case 5:
                graph.initializers.append(try ONNXTensorProto.decode(reader.nested(try reader.readMessage(wire, field: field), message: "TensorProto"),
                                                                     context: context))
            case 11: graph.inputs.append(try ONNXValueInfo.decode(reader.nested(try reader.readMessage(wire, field: field), message: "ValueInfoProto")))
            case 12: graph.outputs.append(try ONNXValueInfo.decode(reader.nested(try reader.readMessage(wire, field: field), message: "ValueInfoProto")))
            default: try reader.skip(wire, field: field)
            }
        }
        return graph
    }
}
