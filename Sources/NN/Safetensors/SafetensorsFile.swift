import Foundation
import Tensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file or body, validated in full when opened: 8-byte little-endian header length,
/// JSON header (`{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {…}}`), raw data.
///
/// Files are memory-mapped (`init(contentsOf:)`; a served model's weights are read instead,
/// `init(readingContentsOf:)`); a tensor whose bytes are aligned for its dtype is a zero-copy view
/// of the mapping (read-only storage: writing to it copies first), others are copied. In-memory
/// bodies (HTTP requests) are copied once into aligned storage and viewed the same way.
///
/// Every structural problem — header length, JSON, fields, dtypes, shapes, offsets that overlap,
/// leave holes or run past the data, trailing bytes — is a `SafetensorsError` naming the tensor
/// or field. (A mapped file truncated by another process while in use is outside this contract.)
public final class SafetensorsFile: Sendable {
    /// One tensor's header entry.
    public struct TensorInfo: Sendable, Equatable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        /// Byte range within the data section.
        public var dataOffsets: Range<Int>

        public init(name: String, dtype: DType, shape: [Int], dataOffsets: Range<Int>) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.dataOffsets = dataOffsets
        }
    }

    /// The reference implementation's limit on the header length.
    public static let maximumHeaderLength = 100_000_000

    /// The tensors in header order.
    public let tensorInfos: [TensorInfo]
    /// The `__metadata__` string map (empty when absent).
    public let metadata: [String: String]

    private let storage: TensorStorage
    private let dataStart: Int
    private let positions: [String: Int]

    /// Maps and validates the file at `url`.
    public convenience init(contentsOf url: URL) throws {
        let mapping = try MemoryMappedFile(path: url.path, minimumByteCount: 8)
        let storage = TensorStorage(borrowing: mapping.base, byteCount: mapping.byteCount, owner: mapping)
        try self.init(storage: storage)
    }

    /// Reads the whole file at `url` into memory and validates it. Unlike `init(contentsOf:)`,
    /// nothing read from it depends on the file afterwards: a server's weights must not, since a
    /// file truncated under a memory mapping faults (SIGBUS) on the next access and one rewritten
    /// in place changes what the mapping shows.
    public convenience init(readingContentsOf url: URL) throws {
        let path = url.path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SafetensorsError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw SafetensorsError.io(path: path, reason: String(cString: strerror(errno))) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw SafetensorsError.io(path: path, reason: "not a regular file") }
        let size = Int(status.st_size)
        guard size >= 8 else { throw SafetensorsError.fileTooSmall(byteCount: size) }
        let storage = TensorStorage(byteCount: size)
        var offset = 0
        while offset < size {
            let count = pread(descriptor, storage.base + offset, size - offset, off_t(offset))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = count < 0 ? String(cString: strerror(errno)) : "the file shrank to \(offset) bytes while being read (\(size) expected)"
                throw SafetensorsError.io(path: path, reason: reason)
            }
            offset += count
        }
        try self.init(storage: storage)
    }

    /// Validates an in-memory safetensors body (copied once into aligned storage).
    public convenience init(bytes: some DataProtocol) throws {
        guard bytes.count >= 8 else { throw SafetensorsError.fileTooSmall(byteCount: bytes.count) }
        let storage = TensorStorage(byteCount: bytes.count)
        bytes.copyBytes(to: UnsafeMutableRawBufferPointer(start: storage.base, count: bytes.count))
        try self.init(storage: storage)
    }

    private init(storage: TensorStorage) throws {
        let fileSize = storage.byteCount
        guard fileSize >= 8 else { throw SafetensorsError.fileTooSmall(byteCount: fileSize) }
        let headerLength = UInt64(littleEndian: storage.base.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(SafetensorsFile.maximumHeaderLength) else {
            throw SafetensorsError.headerTooLarge(length: headerLength, limit: SafetensorsFile.maximumHeaderLength)
        }
        guard 8 + headerLength <= UInt64(fileSize) else {
            throw SafetensorsError.headerBeyondFile(length: headerLength, fileSize: fileSize)
        }
        let header = Array(UnsafeRawBufferPointer(start: storage.base + 8, count: Int(headerLength)))
        let dataStart = 8 + Int(headerLength)
        let (infos, metadata) = try SafetensorsFile.parseHeader(header, dataByteCount: fileSize - dataStart)
        self.tensorInfos = infos
        self.metadata = metadata
        self.storage = storage
        self.dataStart = dataStart
        self.positions = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.name, $0) })
    }

    // MARK: - Reading tensors

    /// The tensor names in header order.
    public var names: [String] { tensorInfos.map(\.name) }

    /// The header entry of `name`.
    public func info(named name: String) -> TensorInfo? { positions[name].map { tensorInfos[$0] } }

    /// The tensor `name`: a view of the file when aligned for its dtype, else a copy.
    public func tensor(named name: String) throws -> Tensor {
        guard let info = info(named: name) else { throw SafetensorsError.tensorNotFound(name) }
        let offset = dataStart + info.dataOffsets.lowerBound
        if info.dtype == .bool {
            let bytes = UnsafeRawBufferPointer(start: storage.base + offset, count: info.dataOffsets.count)
            if let bad = bytes.first(where: { $0 > 1 }) { throw SafetensorsError.invalidBoolValue(tensor: name, byte: bad) }
        }
        if Int(bitPattern: storage.base + offset) % info.dtype.byteSize == 0 {
            return Tensor(shape: info.shape, dtype: info.dtype, storage: storage, byteOffset: offset)
        }
        let copy = Tensor(uninitializedShape: info.shape, dtype: info.dtype)
        copy.storage.base.copyMemory(from: storage.base + offset, byteCount: info.dataOffsets.count)
        return copy
    }

    /// Every tensor in header order.
    public func tensors() throws -> [(name: String, tensor: Tensor)] {
        try tensorInfos.map { ($0.name, try tensor(named: $0.name)) }
    }

    /// Every tensor as a state dict (header order), ready for `Module.loadStateDict`.
    public func stateDict() throws -> StateDict {
        StateDict(try tensors().map { ($0.name, $0.tensor) })
    }

    // MARK: - Header validation

    private static func parseHeader(_ header: [UInt8], dataByteCount: Int) throws -> ([TensorInfo], [String: String]) {
        let root: HeaderJSON.Value
        do {
            root = try HeaderJSON.parse(header)
        } catch {
            switch error {
            case .duplicateKey(let key): throw SafetensorsError.duplicateKey(key)
            case let .syntax(message, offset): throw SafetensorsError.invalidHeader(reason: "\(message) at byte \(offset) of the header")
            }
        }
        guard case .object(let members) = root else {
            throw SafetensorsError.invalidHeader(reason: "expected a JSON object, found \(root.kind)")
        }
        var infos: [TensorInfo] = []
        var metadata: [String: String] = [:]
        for (name, entry) in members {
            if name == "__metadata__" {
                guard case .object(let pairs) = entry else { throw SafetensorsError.invalidMetadata(reason: "expected an object, found \(entry.kind)") }
                for (key, value) in pairs {
                    guard case .string(let text) = value else {
                        throw SafetensorsError.invalidMetadata(reason: "value of '\(key)' is \(value.kind), expected a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            infos.append(try tensorInfo(name, entry))
        }
        try checkLayout(infos, dataByteCount: dataByteCount)
        return (infos, metadata)
    }

    private static func tensorInfo(_ name: String, _ entry: HeaderJSON.Value) throws -> TensorInfo {
        guard case .object(let fields) = entry else {
            throw SafetensorsError.invalidTensorEntry(tensor: name, reason: "expected an object, found \(entry.kind)")
        }
        func field(_ key: String) throws -> HeaderJSON.Value {
            guard let value = fields.first(where: { $0.key == key })?.value else {
                throw SafetensorsError.missingField(tensor: name, field: key)
            }
            return value
        }
        guard case .string(let dtypeName) = try field("dtype") else {
            throw SafetensorsError.unknownDType(tensor: name, dtype: "\(try field("dtype").kind)")
        }
        guard let dtype = DType(safetensorsName: dtypeName) else { throw SafetensorsError.unknownDType(tensor: name, dtype: dtypeName) }

        guard case .array(let dimensions) = try field("shape") else {
            throw SafetensorsError.invalidShape(tensor: name, reason: "expected an array, found \(try field("shape").kind)")
        }
        var shape: [Int] = []
        var elementCount = 1
        // The product of the non-zero dimensions must stay in range too: a zero makes the tensor
        // empty, but strides and other size arithmetic downstream still multiply the other
        // dimensions ([0, 2^62, 2^62] passed and then trapped in `Tensor.strides`; found with the fuzz harness).
        var extent = 1
        for dimension in dimensions {
            guard case .number(let text, let integer?) = dimension, integer >= 0 else {
                let shown = if case .number(let text, _) = dimension { text } else { dimension.kind }
                throw SafetensorsError.invalidShape(tensor: name, reason: "dimension \(shown) is not a non-negative integer")
            }
            let (product, overflow) = extent.multipliedReportingOverflow(by: Swift.max(integer, 1))
            guard !overflow, product <= Int.max / 8 else { throw SafetensorsError.invalidShape(tensor: name, reason: "size overflows at dimension \(text)") }
            extent = product
            elementCount *= integer  // at most `extent`
            shape.append(integer)
        }

        guard case .array(let offsets) = try field("data_offsets"), offsets.count == 2,
              case .number(_, let begin?) = offsets[0], case .number(_, let end?) = offsets[1] else {
            throw SafetensorsError.invalidOffsets(tensor: name, reason: "expected [begin, end] with two integers")
        }
        guard begin >= 0, end >= begin else {
            throw SafetensorsError.invalidOffsets(tensor: name, reason: "[\(begin), \(end)] is not an ordered range of non-negative offsets")
        }
        let expected = elementCount * dtype.byteSize
        guard end - begin == expected else {
            throw SafetensorsError.sizeMismatch(tensor: name, expectedByteCount: expected, actualByteCount: end - begin)
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// The tensors must tile the data section exactly: no overlap, no hole, nothing past the
    /// end, nothing left over (the reference implementation's rule).
    private static func checkLayout(_ infos: [TensorInfo], dataByteCount: Int) throws {
        let ordered = infos.sorted { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
        var previousEnd = 0
        var previousName: String?
        for info in ordered {
            let range = info.dataOffsets
            if range.lowerBound < previousEnd, let previousName {
                throw SafetensorsError.overlappingTensors(previousName, info.name)
            }
            if range.lowerBound > previousEnd {
                if range.lowerBound > dataByteCount {
                    throw SafetensorsError.truncatedData(tensor: info.name, end: range.upperBound, dataByteCount: dataByteCount)
                }
                throw SafetensorsError.gapBeforeTensor(tensor: info.name, begin: range.lowerBound, previousEnd: previousEnd)
            }
            if range.upperBound > dataByteCount {
                throw SafetensorsError.truncatedData(tensor: info.name, end: range.upperBound, dataByteCount: dataByteCount)
            }
            previousEnd = range.upperBound
            previousName = info.name
        }
        if previousEnd < dataByteCount { throw SafetensorsError.trailingBytes(count: dataByteCount - previousEnd) }
    }
}
