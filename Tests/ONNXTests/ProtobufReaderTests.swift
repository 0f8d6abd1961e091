import Testing
@testable import ONNX

@Suite struct ProtobufReaderTests {
    /// Reads with a fresh reader over `bytes`.
    private func read<T>(_ bytes: [UInt8], limit: Int = 1 << 20, _ body: (inout ProtobufReader) throws -> T) throws -> T {
        try bytes.withUnsafeBytes { buffer in
            var reader = ProtobufReader(bytes: buffer, range: 0..<bytes.count, message: "Test", budget: AllocationBudget(limit: limit))
            return try body(&reader)
        }
    }

    @Test func varintsDecode() throws {
        #expect(try read([0xAC, 0x02]) { try $0.readVarint() } == 300)
        #expect(try read([0x01]) { try $0.readVarint() } == 1)
        // -1 as int64: ten bytes.
        #expect(try read([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]) { try $0.readVarint() } == UInt64.max)
    }

    @Test func truncatedVarintThrows() {
        #expect(throws: ONNXError.truncated(message: "Test", offset: 1)) { try read([0x80]) { try $0.readVarint() } }
    }

    @Test func overlongVarintThrows() {
        #expect(throws: ONNXError.self) { try read([UInt8](repeating: 0xFF, count: 11)) { try $0.readVarint() } }
    }

    @Test func lengthPastTheEndThrows() {
        // field 1, length-delimited, length 5, only 2 bytes follow.
        #expect(throws: ONNXError.self) {
            try read([0x0A, 0x05, 0x41, 0x42]) { reader in
                _ = try reader.nextField()
                return try reader.readLengthDelimited()
            }
        }
    }

    @Test func packedAndUnpackedRepeatedInt64() throws {
        // field 1 packed [3, 270] then field 1 unpacked 7.
        let values = try read([0x0A, 0x03, 0x03, 0x8E, 0x02, 0x08, 0x07]) { reader -> [Int64] in
            var values: [Int64] = []
            while let (field, wire) = try reader.nextField() { try reader.readRepeatedInt64(wire, field: field, into: &values) }
            return values
        }
        #expect(values == [3, 270, 7])
    }

    @Test func wrongWireTypeThrows() {
        // field 2 (a string) sent as a varint.
        #expect(throws: ONNXError.wrongWireType(message: "Test", field: 2, wireType: 0, offset: 1)) {
            try read([0x10, 0x01]) { reader in
                let (field, wire) = try reader.nextField()!
                return try reader.readString(wire, field: field)
            }
        }
    }

    @Test func groupsAreRejected() {
        #expect(throws: ONNXError.self) {
            try read([0x0B, 0x0C]) { reader in
                let (field, wire) = try reader.nextField()!
                try reader.skip(wire, field: field)
            }
        }
    }

    @Test func budgetLimitsAllocations() {
        // A packed field of 64 bytes charges 8 bytes per possible element: over a 100-byte budget.
        let bytes: [UInt8] = [0x0A, 64] + [UInt8](repeating: 1, count: 64)
        #expect(throws: ONNXError.self) {
            try read(bytes, limit: 100) { reader in
                var values: [Int64] = []
                let (field, wire) = try reader.nextField()!
                try reader.readRepeatedInt64(wire, field: field, into: &values)
            }
        }
    }
}
