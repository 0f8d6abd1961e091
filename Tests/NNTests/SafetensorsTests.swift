import Foundation
import NN
import Tensors
import Testing
import TestSupport

// SafetensorsFile (reader) and SafetensorsWriter: round trips, zero-copy views, and malformed files.

/// A hand-built safetensors body: `header` JSON, then `data`; `length` overrides the header length.
private func body(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> Data {
    var bytes = Data()
    withUnsafeBytes(of: (length ?? UInt64(header.utf8.count)).littleEndian) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: Array(header.utf8))
    bytes.append(contentsOf: data)
    return bytes
}

/// One corrupt variant and the error it must produce.
struct MalformedCase: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: Data
    let error: SafetensorsError
    var testDescription: String { name }

    static let all: [MalformedCase] = {
        let four = [UInt8](repeating: 0, count: 4), eight = [UInt8](repeating: 0, count: 8)
        var invalidUTF8 = body(#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#)
        invalidUTF8[10] = 0xFF  // inside the first key's string (header byte 2)
        return [
            .init(name: "empty file", bytes: Data(), error: .fileTooSmall(byteCount: 0)),
            .init(name: "shorter than the header length", bytes: Data([1, 0, 0]), error: .fileTooSmall(byteCount: 3)),
            .init(name: "header length too large", bytes: body("{}", length: 200_000_000),
                  error: .headerTooLarge(length: 200_000_000, limit: 100_000_000)),
            .init(name: "header length beyond the file", bytes: body("{}", length: 64), error: .headerBeyondFile(length: 64, fileSize: 10)),
            .init(name: "invalid JSON", bytes: body(#"{"a": "#), error: .invalidHeader(reason: "unexpected end of input at byte 6 of the header")),
            .init(name: "invalid UTF-8", bytes: invalidUTF8, error: .invalidHeader(reason: "invalid UTF-8 in a string at byte 2 of the header")),
            .init(name: "header is not an object", bytes: body("[]"), error: .invalidHeader(reason: "expected a JSON object, found an array")),
            .init(name: "nesting bomb", bytes: body(String(repeating: "[", count: 5000)),
                  error: .invalidHeader(reason: "nesting deeper than 64 levels at byte 64 of the header")),
            .init(name: "tensor entry not an object", bytes: body(#"{"a":3}"#), error: .invalidTensorEntry(tensor: "a", reason: "expected an object, found a number")),
            .init(name: "missing dtype", bytes: body(#"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: four), error: .missingField(tensor: "a", field: "dtype")),
            .init(name: "missing shape", bytes: body(#"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#, data: four), error: .missingField(tensor: "a", field: "shape")),
            .init(name: "missing data_offsets", bytes: body(#"{"a":{"dtype":"F32","shape":[1]}}"#, data: four), error: .missingField(tensor: "a", field: "data_offsets")),
            .init(name: "unknown dtype", bytes: body(#"{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, data: eight), error: .unknownDType(tensor: "a", dtype: "F64")),
            .init(name: "dtype not a string", bytes: body(#"{"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}"#, data: four), error: .unknownDType(tensor: "a", dtype: "a number")),
            .init(name: "negative dimension", bytes: body(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: four),
                  error: .invalidShape(tensor: "a", reason: "dimension -1 is not a non-negative integer")),
            .init(name: "fractional dimension", bytes: body(#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: four),
                  error: .invalidShape(tensor: "a", reason: "dimension 1.5 is not a non-negative integer")),
            .init(name: "shape not an array", bytes: body(#"{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#, data: four),
                  error: .invalidShape(tensor: "a", reason: "expected an array, found a string")),
            .init(name: "shape size overflows", bytes: body(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: four),
                  error: .invalidShape(tensor: "a", reason: "size overflows at dimension 4294967296")),
            // Fuzzing regression: accepted before, then `Tensor.strides` trapped on the overflow.
            .init(name: "empty tensor whose other dimensions overflow",
                  bytes: body(#"{"a":{"dtype":"F32","shape":[0,4611686018427387904,4611686018427387904],"data_offsets":[0,0]}}"#),
                  error: .invalidShape(tensor: "a", reason: "size overflows at dimension 4611686018427387904")),
            .init(name: "offsets out of order", bytes: body(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: four),
                  error: .invalidOffsets(tensor: "a", reason: "[4, 0] is not an ordered range of non-negative offsets")),
            .init(name: "offsets not a pair", bytes: body(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}"#, data: four),
                  error: .invalidOffsets(tensor: "a", reason: "expected [begin, end] with two integers")),
            .init(name: "size differs from shape × dtype", bytes: body(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight),
                  error: .sizeMismatch(tensor: "a", expectedByteCount: 12, actualByteCount: 8)),
            .init(name: "overlapping tensors", bytes: body(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: eight + four),
                  error: .overlappingTensors("a", "b")),
            .init(name: "hole between tensors", bytes: body(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, data: eight + four),
                  error: .gapBeforeTensor(tensor: "b", begin: 8, previousEnd: 4)),
            .init(name: "truncated data", bytes: body(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: four),
                  error: .truncatedData(tensor: "a", end: 8, dataByteCount: 4)),
            .init(name: "offsets far outside the data", bytes: body(#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[4],"data_offsets":[1000000,1000004]}}"#),
                  error: .truncatedData(tensor: "b", end: 1_000_004, dataByteCount: 0)),
            .init(name: "trailing bytes", bytes: body(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: eight),
                  error: .trailingBytes(count: 4)),
            .init(name: "duplicate key", bytes: body(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: four),
                  error: .duplicateKey("a")),
            .init(name: "metadata value not a string", bytes: body(#"{"__metadata__":{"format":1}}"#),
                  error: .invalidMetadata(reason: "value of 'format' is a number, expected a string")),
            .init(name: "metadata not an object", bytes: body(#"{"__metadata__":"pt"}"#), error: .invalidMetadata(reason: "expected an object, found a string")),
        ]
    }()
}

@Suite struct SafetensorsTests {
    private func temporaryURL(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("nn-safetensors-\(UUID().uuidString)-\(name)")
    }

    /// One tensor of every dtype, with awkward sizes (odd counts, a scalar, an empty tensor).
    private var everyDType: [(name: String, tensor: Tensor)] {
        [("weights.f32", Tensor(shape: [2, 3], scalars: [1, -2, 3.5, .infinity, -0, 6])),
         ("half", Tensor(shape: [3], scalars: [0.5, -1, 65504]).to(.float16)),
         ("brain", Tensor(shape: [1, 3], scalars: [1, 2.5, -3e38]).to(.bfloat16)),
         ("count", Tensor(shape: [], elements: [Int64(-7)])),
         ("ids", Tensor(shape: [2], elements: [Int32(5), -9])),
         ("pixels", Tensor(shape: [5], elements: [UInt8(0), 1, 127, 128, 255])),
         ("mask", Tensor(shape: [3], elements: [true, false, true])),
         ("empty", Tensor(zeros: [0, 4]))]
    }

    @Test(arguments: [SafetensorsWriter.Order.reference, .insertion])
    func roundTripsEveryDTypeAndMetadata(order: SafetensorsWriter.Order) throws {
        let url = temporaryURL("roundtrip.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let metadata = ["format": "pt", "note": "quotes \" and \\ and\nnewline, ünïcödé"]
        try SafetensorsWriter.write(everyDType, to: url, metadata: metadata, order: order)
        let file = try SafetensorsFile(contentsOf: url)
        #expect(file.metadata == metadata)
        #expect(Set(file.names) == Set(everyDType.map(\.name)))
        if order == .insertion { #expect(file.names == everyDType.map(\.name)) }
        for (name, original) in everyDType {
            let read = try file.tensor(named: name)
            #expect(read.dtype == original.dtype && read.shape == original.shape, "\(name)")
            #expect(Data(bytes: read.rawPointer, count: read.byteCount) == Data(bytes: original.rawPointer, count: original.byteCount), "\(name)")
        }
        // The in-memory reader sees the same thing.
        let inMemory = try SafetensorsFile(bytes: try Data(contentsOf: url))
        #expect(inMemory.tensorInfos == file.tensorInfos)
    }

    @Test func writerPadsTheHeaderToEightBytesAndPutsMetadataFirst() throws {
        let data = try SafetensorsWriter.serialize([("b", Tensor(zeros: [1])), ("a", Tensor(zeros: [3], dtype: .uint8))],
                                                   metadata: ["format": "pt"], order: .insertion)
        let length = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(length % 8 == 0)
        let header = String(decoding: data[8..<(8 + Int(length))], as: UTF8.self)
        #expect(header.hasPrefix(#"{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":"#))
        #expect(header.hasSuffix(" ") || header.hasSuffix("}"))
        #expect(data.count == 8 + Int(length) + 7)
    }

    @Test func referenceOrderAlignsEveryTensorSoReadsAreZeroCopyViews() throws {
        let url = temporaryURL("aligned.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafetensorsWriter.write(everyDType, to: url)
        let file = try SafetensorsFile(contentsOf: url)
        let tensors = try file.tensors()
        #expect(file.names == ["count", "empty", "ids", "weights.f32", "brain", "half", "mask", "pixels"])
        for (name, tensor) in tensors {
            #expect(tensor.storage === tensors[0].tensor.storage, "\(name) was copied")
            #expect(!tensor.storage.isWritable)
            #expect(Int(bitPattern: tensor.rawPointer) % tensor.dtype.byteSize == 0)
        }
        // Writing to a view copies it first; the mapping (and the file) are untouched.
        var weights = try file.tensor(named: "weights.f32")
        weights.withMutableFloats { $0[0] = 42 }
        #expect(try file.tensor(named: "weights.f32").toArray()[0] == 1)
        // The views keep the mapping alive after the file object is gone.
        let survivor: Tensor = try { try SafetensorsFile(contentsOf: url).tensor(named: "half") }()
        #expect(survivor.toArray() == [0.5, -1, 65504])
    }

    @Test func misalignedTensorsAreCopied() throws {
        // Insertion order: a 3-byte U8 tensor first pushes the F32 tensor to a misaligned offset.
        let data = try SafetensorsWriter.serialize([("odd", Tensor(zeros: [3], dtype: .uint8)), ("float", Tensor(shape: [2], scalars: [1.5, -2]))],
                                                   order: .insertion)
        let file = try SafetensorsFile(bytes: data)
        #expect(file.info(named: "float")?.dataOffsets == 3..<11)
        let float = try file.tensor(named: "float")
        #expect(float.toArray() == [1.5, -2])
        #expect(Int(bitPattern: float.rawPointer) % 4 == 0)
        #expect(float.storage !== (try file.tensor(named: "odd")).storage)
    }

    @Test func readsTheFixtureModelAndLoadsItIntoATree() throws {
        let file = try SafetensorsFile(contentsOf: Fixtures.url("resnet_basic_1111/model.safetensors"))
        #expect(file.metadata == ["format": "pt"])
        #expect(file.names.count == 74)
        #expect(file.info(named: "fc.weight") == .init(name: "fc.weight", dtype: .float16, shape: [1000, 512], dataOffsets: 21424..<1_045_424))
        #expect(try file.tensor(named: "bn1.num_batches_tracked").dtype == .int64)
        let state = try file.stateDict()
        #expect(Set(state.keys) == Set(MiniResNet().stateDict().keys))
    }

    @Test func stateDictsRoundTripThroughTheWriter() throws {
        let model = withRandomSeed(1) { MiniResNet(widths: [4, 4, 8, 8], classCount: 3) }
        let data = try SafetensorsWriter.serialize(model.stateDict())
        let copy = MiniResNet(widths: [4, 4, 8, 8], classCount: 3)
        try copy.loadStateDict(try SafetensorsFile(bytes: data).stateDict())
        for ((key, a), (_, b)) in zip(model.stateDict(), copy.stateDict()) {
            #expect(a.dtype == b.dtype && a.toArray() == b.toArray(), "\(key)")
        }
    }

    @Test(arguments: MalformedCase.all)
    func malformedFilesAreClearErrors(_ testCase: MalformedCase) throws {
        #expect(throws: testCase.error) { try SafetensorsFile(bytes: testCase.bytes) }
        // The memory-mapped path reports the same error.
        let url = temporaryURL("malformed.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try testCase.bytes.write(to: url)
        #expect(throws: testCase.error) { try SafetensorsFile(contentsOf: url) }
    }

    @Test func invalidBoolBytesAreAnErrorWhenRead() throws {
        let file = try SafetensorsFile(bytes: body(#"{"flags":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}"#, data: [1, 2]))
        #expect(throws: SafetensorsError.invalidBoolValue(tensor: "flags", byte: 2)) { try file.tensor(named: "flags") }
        #expect(throws: SafetensorsError.tensorNotFound("other")) { try file.tensor(named: "other") }
    }

    @Test func headerEdgeCasesThatAreValid() throws {
        // Escapes and surrogate pairs in names, whitespace padding, zero-size tensors sharing an offset,
        // tensors listed out of data order.
        let header = #"{ "b\u00e9\ud83d\ude00" : {"dtype":"U8","shape":[0],"data_offsets":[4,4]}, "z":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "y":{"dtype":"U8","shape":[0],"data_offsets":[4,4]}}    "#
        let file = try SafetensorsFile(bytes: body(header, data: [0, 0, 128, 63]))
        #expect(file.names == ["bé😀", "z", "y"])
        #expect(try file.tensor(named: "z").toArray() == [1])
        #expect(try SafetensorsFile(bytes: body("{}")).names.isEmpty)
    }

    @Test func writerRejectsDuplicateAndReservedNames() {
        #expect(throws: SafetensorsError.duplicateKey("a")) {
            try SafetensorsWriter.serialize([("a", Tensor(zeros: [1])), ("a", Tensor(zeros: [1]))])
        }
        #expect(throws: SafetensorsError.invalidTensorName("__metadata__")) {
            try SafetensorsWriter.serialize([("__metadata__", Tensor(zeros: [1]))])
        }
    }

    @Test func missingFilesAreIOErrors() {
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(contentsOf: URL(fileURLWithPath: "/nonexistent/model.safetensors")) }
    }
}
