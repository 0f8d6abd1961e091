/// A bounds-checked reader of the protobuf wire format over borrowed bytes.
///
/// Only what ONNX needs: varint (0), 64-bit (1), length-delimited (2) and 32-bit (5) fields;
/// groups (3, 4) are rejected. Every read checks the bounds of the enclosing message and throws
/// `ONNXError.truncated` instead of reading past it; repeated numeric fields accept both the packed
/// and the unpacked encoding, as the protobuf specification requires of parsers. Allocations are
/// charged to an `AllocationBudget`, so a hostile length cannot make the reader allocate more than
/// the configured limit.
struct ProtobufReader {
    /// Protobuf wire types.
    enum WireType: Int {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    /// The whole buffer (offsets in errors are relative to its start).
    let bytes: UnsafeRawBufferPointer
    /// The message being read, for error messages (`NodeProto`).
    let message: String
    /// Next byte to read.
    private(set) var position: Int
    /// One past the last byte of this message.
    let end: Int
    /// Shared allocation accounting.
    let budget: AllocationBudget

    init(bytes: UnsafeRawBufferPointer, range: Range<Int>, message: String, budget: AllocationBudget) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
        self.message = message
        self.budget = budget
    }

    /// A reader for a nested message occupying `range`.
    func nested(_ range: Range<Int>, message: String) -> ProtobufReader {
        ProtobufReader(bytes: bytes, range: range, message: message, budget: budget)
    }

    var isAtEnd: Bool { position >= end }

    // MARK: - Primitives

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func nextField() throws -> (number: Int, wireType: WireType)? {
        guard position < end else { return nil }
        let start = position
        let key = try readVarint()
        let number = key >> 3
        guard number > 0, number <= 536_870_911 else {
            throw ONNXError.malformed(message: message, reason: "invalid field number \(number) at byte \(start)")
        }
        guard let wireType = WireType(rawValue: Int(key & 7)) else {
            throw ONNXError.malformed(message: message, reason: "invalid wire type \(key & 7) at byte \(start)")
        }
        return (Int(number), wireType)
    }

    /// A base-128 varint of at most 10 bytes.
    mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw ONNXError.truncated(message: message, offset: position) }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 {
                throw ONNXError.malformed(message: message, reason: "varint overflows 64 bits at byte \(position - 1)")
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            guard shift <= 63 else {
                throw ONNXError.malformed(message: message, reason: "varint longer than 10 bytes at byte \(position - 1)")
            }
        }
    }

    mutating func readFixed32() throws -> UInt32 {
        guard end - position >= 4 else { throw ONNXError.truncated(message: message, offset: position) }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[position + index]) << (8 * index) }
        position += 4
        return value
    }

    mutating func readFixed64() throws -> UInt64 {
        guard end - position >= 8 else { throw ONNXError.truncated(message: message, offset: position) }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[position + index]) << (8 * index) }
        position += 8
        return value
    }

    /// The byte range of a length-delimited field's payload (not copied).
    mutating func readLengthDelimited() throws -> Range<Int> {
        let length = try readVarint()
        guard length <= UInt64(end - position) else { throw ONNXError.truncated(message: message, offset: position) }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return range
    }

    /// Skips a field of an unknown or unused number.
    mutating func skip(_ wireType: WireType, field: Int) throws {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .lengthDelimited: _ = try readLengthDelimited()
        case .fixed32: _ = try readFixed32()
        case .startGroup, .endGroup:
            throw ONNXError.wrongWireType(message: message, field: field, wireType: wireType.rawValue, offset: position)
        }
    }

    // MARK: - Typed fields

    /// Throws unless `wireType` is `expected`.
    func expect(_ wireType: WireType, _ expected: WireType, field: Int) throws {
        guard wireType == expected else {
            throw ONNXError.wrongWireType(message: message, field: field, wireType: wireType.rawValue, offset: position)
        }
    }

    /// A UTF-8 string (invalid UTF-8 is repaired, never trusted).
    mutating func readString(_ wireType: WireType, field: Int) throws -> String {
        try expect(wireType, .lengthDelimited, field: field)
        let range = try readLengthDelimited()
        try budget.charge(range.count, for: "a string in \(message)")
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// A varint field as a two's-complement Int64 (protobuf `int64`; `int32` is sign-extended too).
    mutating func readInt64(_ wireType: WireType, field: Int) throws -> Int64 {
        try expect(wireType, .varint, field: field)
        return Int64(bitPattern: try readVarint())
    }

    /// A `float` field.
    mutating func readFloat(_ wireType: WireType, field: Int) throws -> Float {
        try expect(wireType, .fixed32, field: field)
        return Float(bitPattern: try readFixed32())
    }

    /// A nested message's range.
    mutating func readMessage(_ wireType: WireType, field: Int) throws -> Range<Int> {
        try expect(wireType, .lengthDelimited, field: field)
        return try readLengthDelimited()
    }

    /// One element (unpacked) or a packed run of varints, appended to `values`.
    mutating func readRepeatedInt64(_ wireType: WireType, field: Int, into values: inout [Int64]) throws {
        switch wireType {
        case .varint:
            try budget.charge(8, for: "a repeated field of \(message)")
            values.append(Int64(bitPattern: try readVarint()))
        case .lengthDelimited:
            let range = try readLengthDelimited()
            // Each varint takes at least one byte: the count is bounded by the payload's length.
            try budget.charge(range.count * 8, for: "a packed field of \(message)")
            var packed = nested(range, message: message)
            values.reserveCapacity(values.count + range.count)
            while !packed.isAtEnd { values.append(Int64(bitPattern: try packed.readVarint())) }
        default:
            throw ONNXError.wrongWireType(message: message, field: field, wireType: wireType.rawValue, offset: position)
        }
    }

    /// One element (unpacked) or a packed run of 32-bit values, appended as bit patterns.
    mutating func readRepeatedFixed32(_ wireType: WireType, field: Int, into values: inout [UInt32]) throws {
        switch wireType {
        case .fixed32:
            try budget.charge(4, for: "a repeated field of \(message)")
            values.append(try readFixed32())
        case .lengthDelimited:
            let range = try readLengthDelimited()
            guard range.count % 4 == 0 else {
                throw ONNXError.malformed(message: message, reason: "packed field \(field) of \(range.count) bytes is not a multiple of 4")
            }
            try budget.charge(range.count, for: "a packed field of \(message)")
            var packed = nested(range, message: message)
            values.reserveCapacity(values.count + range.count / 4)
            while !packed.isAtEnd { values.append(try packed.readFixed32()) }
        default:
            throw ONNXError.wrongWireType(message: message, field: field, wireType: wireType.rawValue, offset: position)
        }
    }

    /// One element (unpacked) or a packed run of 64-bit values, appended as bit patterns.
    mutating func readRepeatedFixed64(_ wireType: WireType, field: Int, into values: inout [UInt64]) throws {
        switch wireType {
        case .fixed64:
            try budget.charge(8, for: "a repeated field of \(message)")
            values.append(try readFixed64())
        case .lengthDelimited:
            let range = try readLengthDelimited()
            guard range.count % 8 == 0 else {
                throw ONNXError.malformed(message: message, reason: "packed field \(field) of \(range.count) bytes is not a multiple of 8")
            }
            try budget.charge(range.count, for: "a packed field of \(message)")
            var packed = nested(range, message: message)
            values.reserveCapacity(values.count + range.count / 8)
            while !packed.isAtEnd { values.append(try packed.readFixed64()) }
        default:
            throw ONNXError.wrongWireType(message: message, field: field, wireType: wireType.rawValue, offset: position)
        }
    }
}
