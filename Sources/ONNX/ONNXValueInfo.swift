/// A decoded `ValueInfoProto` (graph inputs and outputs): name = 1, type = 2, where
/// `TypeProto.tensor_type` = 1 holds elem_type = 1 and shape = 2, and each
/// `TensorShapeProto.dim` = 1 is dim_value = 1 or dim_param = 2.
public struct ONNXValueInfo: Sendable, Equatable {
    /// One dimension of a declared shape.
    public enum Dimension: Sendable, Equatable {
        case value(Int)
        /// A named symbolic dimension (`batch_size`, `sequence_length`).
        case symbol(String)
        case unknown
    }

    public var name: String
    /// `TensorProto.DataType` code; 0 when not declared.
    public var elementType: Int
    /// nil when no shape is declared (any rank).
    public var shape: [Dimension]?

    static func decode(_ reader: ProtobufReader) throws -> ONNXValueInfo {
        var reader = reader
        var info = ONNXValueInfo(name: "", elementType: 0, shape: nil)
        while let (field, wire) = try reader.nextField() {
            switch field {
            case 1: info.name = try reader.readString(wire, field: field)
            case 2:
                var type = reader.nested(try reader.readMessage(wire, field: field), message: "TypeProto")
                while let (typeField, typeWire) = try type.nextField() {
                    guard typeField == 1 else { try type.skip(typeWire, field: typeField); continue }
                    var tensor = type.nested(try type.readMessage(typeWire, field: typeField), message: "TypeProto.Tensor")
                    while let (tensorField, tensorWire) = try tensor.nextField() {
                        switch tensorField {
                        case 1: info.elementType = Int(truncatingIfNeeded: try tensor.readInt64(tensorWire, field: tensorField))
                        case 2: info.shape = try decodeShape(tensor.nested(try tensor.readMessage(tensorWire, field: tensorField),
                                                                           message: "TensorShapeProto"), name: info.name)
                        default: try tensor.skip(tensorWire, field: tensorField)
                        }
                    }
                }
            default: try reader.skip(wire, field: field)
            }
        }
        return info
    }

    private static func decodeShape(_ reader: ProtobufReader, name: String) throws -> [Dimension] {
        var reader = reader
        var dimensions: [Dimension] = []
        while let (field, wire) = try reader.nextField() {
            guard field == 1 else { try reader.skip(wire, field: field); continue }
            try reader.budget.charge(16, for: "a shape of \(name)")
            var dimension = reader.nested(try reader.readMessage(wire, field: field), message: "TensorShapeProto.Dimension")
            var value = Dimension.unknown
            while let (dimensionField, dimensionWire) = try dimension.nextField() {
                switch dimensionField {
                case 1:
                    let size = try dimension.readInt64(dimensionWire, field: dimensionField)
                    guard size >= 0, size <= Int64(Int32.max) else {
                        throw ONNXError.invalidTensor(name: name, reason: "declared dimension \(size) is negative or too large")
                    }
                    value = .value(Int(size))
                case 2: value = .symbol(try dimension.readString(dimensionWire, field: dimensionField))
                default: try dimension.skip(dimensionWire, field: dimensionField)
                }
            }
            dimensions.append(value)
        }
        return dimensions
    }
}
