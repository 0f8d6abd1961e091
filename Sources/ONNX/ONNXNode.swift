import Foundation

/// A decoded `NodeProto`: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7.
/// An empty input name is an omitted optional input, as in the specification.
public struct ONNXNode: Sendable {
    public var name: String
    public var operatorType: String
    /// The operator's domain; "" and "ai.onnx" are the default domain.
    public var domain: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: ONNXAttribute]
    /// The dynamo exporter's `pkg.torch.onnx.name_scopes` metadata (metadata_props = 9): the
    /// qualified module names enclosing the node, outermost first, then the FX node's name.
    public var nameScopes: [String]?

    /// The domain with "ai.onnx" spelled as the default "".
    public var normalizedDomain: String { domain == "ai.onnx" ? "" : domain }

    static func decode(_ reader: ProtobufReader, context: ONNXTensorProto.Context) throws -> ONNXNode {
        var reader = reader
        var node = ONNXNode(name: "", operatorType: "", domain: "", inputs: [], outputs: [], attributes: [:], nameScopes: nil)
        while let (field, wire) = try reader.nextField() {
            switch field {
            case 1: node.inputs.append(try reader.readString(wire, field: field))
            case 2: node.outputs.append(try reader.readString(wire, field: field))
            case 3: node.name = try reader.readString(wire, field: field)
            case 4: node.operatorType = try reader.readString(wire, field: field)
            case 5:
                let range = try reader.readMessage(wire, field: field)
                let (name, value) = try ONNXAttribute.decode(reader.nested(range, message: "AttributeProto"), context: context)
                node.attributes[name] = value
            case 7: node.domain = try reader.readString(wire, field: field)
            case 9:
                let (key, value) = try ONNXTensorProto.decodeEntry(reader.nested(try reader.readMessage(wire, field: field),
                                                                                  message: "StringStringEntryProto"))
                if key == "pkg.torch.onnx.name_scopes" { node.nameScopes = parsePythonStringList(value) }
            default: try reader.skip(wire, field: field)
            }
        }
        return node
    }

    /// `['', 'layer1', 'layer1.0']` → ["", "layer1", "layer1.0"]; nil when not such a list.
    static func parsePythonStringList(_ text: String) -> [String]? {
        let characters = Array(text.trimmingCharacters(in: .whitespaces))
        guard characters.first == "[", characters.last == "]" else { return nil }
        var result: [String] = [], index = 1
        while index < characters.count - 1 {
            let quote = characters[index]
            if quote == "," || quote == " " { index += 1; continue }
            guard quote == "'" || quote == "\"" else { return nil }
            var item = ""
            index += 1
            while index < characters.count - 1 && characters[index] != quote {
                if characters[index] == "\\" && index + 1 < characters.count - 1 { index += 1 }
                item.append(characters[index])
                index += 1
            }
            guard index < characters.count - 1 else { return nil }
            result.append(item)
            index += 1
        }
        return result
    }
}
