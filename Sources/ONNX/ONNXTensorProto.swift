import Foundation
import Tensors

/// A decoded `TensorProto` (initializers, `Constant` values, tensor attributes): its name and its
/// values as a `Tensor` in the runtime's compute dtype (see `ONNXElementType`).
///
/// Fields read (numbers from onnx.proto): dims = 1, data_type = 2, float_data = 4, int32_data = 5,
/// int64_data = 7, name = 8, raw_data = 9, double_data = 10, uint64_data = 11, external_data = 13,
/// data_location = 14. Values come from `raw_data` (little-endian), the typed field of the data
/// type, or an external file next to the model.
public struct ONNXTensorProto: Sendable {
    public var name: String
    /// The declared element type.
    public var elementType: ONNXElementType
    public var tensor: Tensor
    /// The external data file the values came from, if any (relative to the model's directory).
    public var externalLocation: String?

    /// Where external data may be read from, and the allocation budget of the whole read.
    struct Context {
        /// The model's directory; nil when the model came from bytes only (external data then fails).
        var directory: URL?
        var budget: AllocationBudget
    }

    static func decode(_ reader: ProtobufReader, context: Context) throws -> ONNXTensorProto {
        var reader = reader
        var dims: [Int64] = [], dataType: Int64 = 0, name = ""
        var floatBits: [UInt32] = [], int32Values: [Int64] = [], int64Values: [Int64] = []
        var doubleBits: [UInt64] = [], uint64Values: [Int64] = []
        var raw: Range<Int>?
        var external: [String: String] = [:]
        var dataLocation: Int64 = 0
        while let (field, wire) = try reader.nextField() {
            switch field {
            case 1: try reader.readRepeatedInt64(wire, field: field, into: &dims)
            case 2: dataType = try reader.readInt64(wire, field: field)
            case 4: try reader.readRepeatedFixed32(wire, field: field, into: &floatBits)
            case 5: try reader.readRepeatedInt64(wire, field: field, into: &int32Values)
            case 7: try reader.readRepeatedInt64(wire, field: field, into: &int64Values)
            case 8: name = try reader.readString(wire, field: field)
            case 9: raw = try reader.readMessage(wire, field: field)
            case 10: try reader.readRepeatedFixed64(wire, field: field, into: &doubleBits)
            case 11: try reader.readRepeatedInt64(wire, field: field, into: &uint64Values)
            case 13:
                let entry = reader.nested(try reader.readMessage(wire, field: field), message: "StringStringEntryProto")
                let (key, value) = try decodeEntry(entry)
                external[key] = value
            case 14: dataLocation = try reader.readInt64(wire, field: field)
            default: try reader.skip(wire, field: field)
            }
        }
        let label = name.isEmpty ? "<unnamed>" : name
        guard let elementType = ONNXElementType(rawValue: Int(dataType)), let computeType = elementType.computeType,
              let byteSize = elementType.rawByteSize else {
            throw ONNXError.invalidTensor(name: label, reason: "unsupported data type \(dataType)")
        }
        let shape = try checkedShape(dims, name: label)
        let count = shape.reduce(1, *)
        let (rawBytes, overflow) = count.multipliedReportingOverflow(by: byteSize)
        guard !overflow else { throw ONNXError.invalidTensor(name: label, reason: "dims \(dims) overflow in bytes") }
        let (computeBytes, computeOverflow) = count.multipliedReportingOverflow(by: computeType.byteSize)
        guard !computeOverflow else { throw ONNXError.invalidTensor(name: label, reason: "dims \(dims) overflow in bytes") }
        try context.budget.charge(computeBytes, for: "tensor '\(label)' \(dims)")

        let storage = TensorStorage(byteCount: computeBytes)
        var tensor = Tensor(shape: shape, dtype: computeType, storage: storage)
        func fill(raw pointer: UnsafeRawPointer) {
            convertRaw(pointer, elementType: elementType, count: count,
                       into: UnsafeMutableRawBufferPointer(start: storage.base, count: computeBytes))
        }
        if dataLocation == 1 || !external.isEmpty {
            let data = try readExternal(external, tensor: label, byteCount: rawBytes, context: context)
            data.withUnsafeBytes { fill(raw: $0.baseAddress!) }
        } else if let raw {
            guard raw.count == rawBytes else {
                throw ONNXError.invalidTensor(name: label, reason: "raw_data has \(raw.count) bytes, dims \(dims) of \(elementType.schemaName) need \(rawBytes)")
            }
            if count > 0 { fill(raw: reader.bytes.baseAddress! + raw.lowerBound) }
        } else {
            try fillTyped(&tensor, elementType: elementType, count: count, label: label, floatBits: floatBits,
                          int32Values: int32Values, int64Values: int64Values, doubleBits: doubleBits, uint64Values: uint64Values)
        }
        return ONNXTensorProto(name: name, elementType: elementType, tensor: tensor, externalLocation: external["location"])
    }

    /// dims as a shape: each non-negative, the element count representable.
    static func checkedShape(_ dims: [Int64], name: String) throws -> [Int] {
        var count = 1
        for dim in dims {
            guard dim >= 0, dim <= Int64(Int.max) else {
                throw ONNXError.invalidTensor(name: name, reason: "negative or overflowing dimension in dims \(dims)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(dim))
            guard !overflow else { throw ONNXError.invalidTensor(name: name, reason: "the product of dims \(dims) overflows") }
            count = product
        }
        return dims.map { Int($0) }
    }

    static func decodeEntry(_ reader: ProtobufReader) throws -> (String, String) {
        var reader = reader
        var key = "", value = ""
        while let (field, wire) = try reader.nextField() {
            switch field {
            case 1: key = try reader.readString(wire, field: field)
            case 2: value = try reader.readString(wire, field: field)
            default: try reader.skip(wire, field: field)
            }
        }
        return (key, value)
    }

    /// The typed repeated field of `elementType`, which must hold exactly `count` values.
    private static func fillTyped(_ tensor: inout Tensor, elementType: ONNXElementType, count: Int, label: String,
                                  floatBits: [UInt32], int32Values: [Int64], int64Values: [Int64],
                                  doubleBits: [UInt64], uint64Values: [Int64]) throws {
        func check(_ found: Int, _ field: String) throws {
            guard found == count else {
                throw ONNXError.invalidTensor(name: label, reason: "\(field) has \(found) values, dims need \(count)")
            }
        }
        switch elementType {
        case .float:
            try check(floatBits.count, "float_data")
            tensor.withUnsafeMutableBufferPointer(as: Float.self) { out in
                for index in 0..<count { out[index] = Float(bitPattern: floatBits[index]) }
            }
        case .double:
            try check(doubleBits.count, "double_data")
            tensor.withUnsafeMutableBufferPointer(as: Float.self) { out in
                for index in 0..<count { out[index] = Float(Double(bitPattern: doubleBits[index])) }
            }
        case .float16, .bfloat16:
            // int32_data holds the 16-bit patterns.
            try check(int32Values.count, "int32_data")
            tensor.withUnsafeMutableBufferPointer(as: Float.self) { out in
                for index in 0..<count {
                    let bits = UInt16(truncatingIfNeeded: int32Values[index])
                    out[index] = elementType == .float16 ? Float(Float16(bitPattern: bits)) : BFloat16(bitPattern: bits).floatValue
                }
            }
        case .int64:
            try check(int64Values.count, "int64_data")
            tensor.withUnsafeMutableBufferPointer(as: Int64.self) { out in
                for index in 0..<count { out[index] = int64Values[index] }
            }
        case .uint32, .uint64:
            try check(uint64Values.count, "uint64_data")
            tensor.withUnsafeMutableBufferPointer(as: Int64.self) { out in
                for index in 0..<count { out[index] = uint64Values[index] }
            }
        case .bool:
            try check(int32Values.count, "int32_data")
            tensor.withUnsafeMutableBufferPointer(as: Bool.self) { out in
                for index in 0..<count { out[index] = int32Values[index] != 0 }
            }
        default:
            try check(int32Values.count, "int32_data")
            tensor.withUnsafeMutableBufferPointer(as: Int64.self) { out in
                for index in 0..<count { out[index] = Int64(Int32(truncatingIfNeeded: int32Values[index])) }
            }
        }
    }

    /// Converts `count` little-endian elements of `elementType` into the compute dtype's storage.
    private static func convertRaw(_ source: UnsafeRawPointer, elementType: ONNXElementType, count: Int,
                                   into destination: UnsafeMutableRawBufferPointer) {
        switch elementType {
        case .float:
            destination.baseAddress!.copyMemory(from: source, byteCount: count * 4)
        case .float16:
            let out = destination.bindMemory(to: Float.self)
            for index in 0..<count { out[index] = Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))) }
        case .bfloat16:
            let out = destination.bindMemory(to: Float.self)
            for index in 0..<count { out[index] = BFloat16(bitPattern: source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)).floatValue }
        case .double:
            let out = destination.bindMemory(to: Float.self)
            for index in 0..<count { out[index] = Float(source.loadUnaligned(fromByteOffset: 8 * index, as: Double.self)) }
        case .bool:
            let out = destination.bindMemory(to: Bool.self)
            for index in 0..<count { out[index] = source.load(fromByteOffset: index, as: UInt8.self) != 0 }
        default:
            let out = destination.bindMemory(to: Int64.self)
            for index in 0..<count {
                out[index] = switch elementType {
                case .uint8: Int64(source.load(fromByteOffset: index, as: UInt8.self))
                case .int8: Int64(source.load(fromByteOffset: index, as: Int8.self))
                case .uint16: Int64(source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))
                case .int16: Int64(source.loadUnaligned(fromByteOffset: 2 * index, as: Int16.self))
                case .int32: Int64(source.loadUnaligned(fromByteOffset: 4 * index, as: Int32.self))
                case .uint32: Int64(source.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self))
                case .uint64: Int64(bitPattern: source.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
                default: source.loadUnaligned(fromByteOffset: 8 * index, as: Int64.self)
                }
            }
        }
    }

    /// Reads `location` (+ `offset`, `length`) from a file inside the model's directory.
    static func readExternal(_ entries: [String: String], tensor: String, byteCount: Int, context: Context) throws -> Data {
        guard let location = entries["location"], !location.isEmpty else {
            throw ONNXError.externalData(tensor: tensor, reason: "no location")
        }
        guard let directory = context.directory else {
            throw ONNXError.externalData(tensor: tensor, reason: "the model was not read from a file, so '\(location)' cannot be resolved")
        }
        let file = try ONNXExternalData.confinedURL(location, in: directory, tensor: tensor)
        let offset = try entries["offset"].map { text -> Int in
            guard let value = Int(text), value >= 0 else { throw ONNXError.externalData(tensor: tensor, reason: "invalid offset '\(text)'") }
            return value
        } ?? 0
        if let text = entries["length"] {
            guard let length = Int(text), length == byteCount else {
                throw ONNXError.externalData(tensor: tensor, reason: "length '\(text)' does not match the \(byteCount) bytes its dims need")
            }
        }
        guard let handle = FileHandle(forReadingAtPath: file.path) else {
            throw ONNXError.externalData(tensor: tensor, reason: "cannot open '\(location)'")
        }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()).map(Int.init) ?? 0
        let (last, overflow) = offset.addingReportingOverflow(byteCount)
        guard !overflow, last <= size else {
            throw ONNXError.externalData(tensor: tensor, reason: "'\(location)' has \(size) bytes, the tensor needs \(byteCount) at offset \(offset)")
        }
        try context.budget.charge(byteCount, for: "external data of '\(tensor)'")
        do {
            try handle.seek(toOffset: UInt64(offset))
            let data = try handle.read(upToCount: byteCount) ?? Data()
            guard data.count == byteCount else { throw ONNXError.externalData(tensor: tensor, reason: "short read of '\(location)'") }
            return data
        } catch let error as ONNXError {
            throw error
        } catch {
            throw ONNXError.externalData(tensor: tensor, reason: "cannot read '\(location)' (\(error))")
        }
    }
}
