import HTTP
import Tensors

/// A response body described as a list of segments — literal bytes, tensors as JSON numbers,
/// base64 or raw bytes, and a trailer computed at the end — that is produced in chunks of about
/// `chunkSize` bytes as it is sent, so a 100 MB response never sits in memory at once.
///
/// Every encoder here (native features JSON, V2 JSON + Triton binary data, safetensors) builds one.
/// Failures that depend on the data (NaN under the `error` policy) are found by `validate()`
/// before the first byte goes out, while an error response is still possible.
public struct StreamingBody: Sendable {
    /// One piece of the body, in order.
    public enum Segment: Sendable {
        /// Bytes sent as they are.
        case bytes([UInt8])
        /// The tensor's elements as a JSON array of numbers (`layout` flat or nested). `name`
        /// appears in errors.
        case numbers(Tensor, layout: ArrayLayout, nonFinite: NonFinitePolicy, name: String)
        /// The tensor's little-endian bytes as a JSON string of base64 (quotes included).
        case base64(Tensor)
        /// The tensor's little-endian bytes, raw.
        case raw(Tensor)
        /// Bytes computed when the body gets there, from the time spent producing it so far
        /// (the `timing_ms.encode` trailer).
        case trailer(@Sendable (_ encodeDuration: Duration) -> [UInt8])
    }

    public var segments: [Segment]

    public init(_ segments: [Segment] = []) { self.segments = segments }

    /// The exact byte count when no segment's length depends on formatting (no JSON numbers, no
    /// trailer): the value for a `Content-Length` header.
    public var knownLength: Int? {
        var total = 0
        for segment in segments {
            switch segment {
            case .bytes(let bytes): total += bytes.count
            case .base64(let tensor): total += Base64.encodedLength(tensor.byteCount) + 2
            case .raw(let tensor): total += tensor.byteCount
            case .numbers, .trailer: return nil
            }
        }
        return total
    }

    /// Throws the first `ResponseEncodingError` that sending would hit: non-finite values under the
    /// `error` policy, dtypes JSON numbers cannot hold.
    public func validate() throws(ResponseEncodingError) {
        for segment in segments {
            guard case .numbers(let tensor, _, let policy, let name) = segment else { continue }
            guard tensor.dtype.isFloatingPoint, policy == .error else { continue }
            if let index = firstNonFiniteIndex(tensor) {
                let value = tensor.view(elementOffset: index, shape: []).toArray()[0]
                throw .nonFinite(layer: name, index: index, value: "\(value)")
            }
        }
    }

    // MARK: - Producing

    /// An HTTP response that streams this body (validated first, so a non-finite value is an error
    /// response, not a broken body). With a known length it carries `Content-Length`, otherwise it
    /// is sent chunked.
    public func httpResponse(status: HTTPStatus = .ok, contentType: String, headers: HTTPHeaders = [:],
                             chunkSize: Int = 1 << 16) throws(ResponseEncodingError) -> HTTPResponse {
        try validate()
        var headers = headers
        if let length = knownLength, !headers.contains("Content-Length") {
            headers.add(name: "Content-Length", value: String(length))
        }
        return HTTPResponse.stream(status: status, contentType: contentType, headers: headers) { writer in
            try await self.write(to: writer, chunkSize: chunkSize)
        }
    }

    /// Sends the body to `writer` in chunks of about `chunkSize` bytes (validate first).
    public func write(to writer: any HTTPBodyWriter, chunkSize: Int = 1 << 16) async throws {
        var chunks = makeChunks(chunkSize: chunkSize)
        while let chunk = try chunks.next() {
            try await writer.write(chunk)
        }
    }

    /// The whole body in memory (tests, small bodies, CLI output files).
    public func collect() throws(ResponseEncodingError) -> [UInt8] {
        var chunks = makeChunks(chunkSize: 1 << 20)
        var result: [UInt8] = []
        while let chunk = try chunks.next() { result += chunk }
        return result
    }

    /// A synchronous iterator over the body's chunks.
    public func makeChunks(chunkSize: Int = 1 << 16) -> Chunks {
        Chunks(segments: segments, chunkSize: chunkSize)
    }

    /// Produces a `StreamingBody` chunk by chunk; each `next()` returns at least `chunkSize` bytes
    /// (except the last) and at most about `chunkSize` plus one formatted batch.
    public struct Chunks {
        private let segments: [Segment]
        private let chunkSize: Int
        private let buffer: JSONOutputBuffer
        private var segmentIndex = 0
        /// Progress inside the current segment: elements (numbers), bytes (base64, raw).
        private var position = 0
        private var started: ContinuousClock.Instant?

        init(segments: [Segment], chunkSize: Int) {
            self.segments = segments
            self.chunkSize = Swift.max(chunkSize, 64)
            self.buffer = JSONOutputBuffer(capacity: self.chunkSize + 1024)
        }

        /// The next chunk, or nil at the end.
        public mutating func next() throws(ResponseEncodingError) -> [UInt8]? {
            if started == nil { started = .now }
            while buffer.count < chunkSize && segmentIndex < segments.count {
                let finished: Bool
                switch segments[segmentIndex] {
                case .bytes(let bytes):
                    buffer.append(bytes)
                    finished = true
                case .numbers(let tensor, let layout, let policy, let name):
                    finished = try writeNumbers(tensor, layout: layout, policy: policy, name: name)
                case .base64(let tensor):
                    finished = writeBase64(tensor)
                case .raw(let tensor):
                    finished = writeRaw(tensor)
                case .trailer(let make):
                    buffer.append(make(ContinuousClock.now - started!))
                    finished = true
                }
                if finished {
                    segmentIndex += 1
                    position = 0
                }
            }
            if buffer.count == 0 { return nil }
            return buffer.takeBytes()
        }

        /// Writes elements from `position` until the buffer is full; true when the array is closed.
        private mutating func writeNumbers(_ tensor: Tensor, layout: ArrayLayout, policy: NonFinitePolicy,
                                           name: String) throws(ResponseEncodingError) -> Bool {
            let count = tensor.count
            if layout == .flat || tensor.rank <= 1 || count == 0 {
                if count == 0 && layout == .nested && tensor.rank > 1 {
                    appendEmptyNested(shape: tensor.shape)
                    return true
                }
                if position == 0 { buffer.append(UInt8(ascii: "[")) }
                let room = Swift.max(chunkSize - buffer.count, 1)
                let batch = Swift.min(count - position, Swift.max(room / 12, 256))
                try buffer.appendElements(of: tensor, range: position..<(position + batch), leadingComma: position > 0,
                                          policy: policy, name: name)
                position += batch
                if position == count {
                    buffer.append(UInt8(ascii: "]"))
                    return true
                }
                return false
            }
            // Nested: whole rows (the last axis) at a time, brackets between them.
            let shape = tensor.shape
            let rowLength = shape[shape.count - 1]
            var blockSizes = [Int](repeating: 1, count: shape.count)  // elements per sub-array at each depth
            var running = 1
            for axis in stride(from: shape.count - 1, through: 0, by: -1) {
                running *= shape[axis]
                blockSizes[axis] = running
            }
            while position < count && buffer.count < chunkSize {
                for depth in 0..<shape.count where position % blockSizes[depth] == 0 { buffer.append(UInt8(ascii: "[")) }
                try buffer.appendElements(of: tensor, range: position..<(position + rowLength), leadingComma: false,
                                          policy: policy, name: name)
                position += rowLength
                for depth in stride(from: shape.count - 1, through: 0, by: -1) where position % blockSizes[depth] == 0 {
                    buffer.append(UInt8(ascii: "]"))
                }
                if position < count { buffer.append(UInt8(ascii: ",")) }
            }
            return position == count
        }

        /// `[[],[]]`-style arrays for shapes with a zero dimension.
        private func appendEmptyNested(shape: [Int]) {
            func append(_ axis: Int) {
                buffer.append(UInt8(ascii: "["))
                if axis + 1 < shape.count {
                    for index in 0..<shape[axis] {
                        if index > 0 { buffer.append(UInt8(ascii: ",")) }
                        append(axis + 1)
                    }
                }
                buffer.append(UInt8(ascii: "]"))
            }
            append(0)
        }

        private mutating func writeBase64(_ tensor: Tensor) -> Bool {
            let total = tensor.byteCount
            if position == 0 { buffer.append(UInt8(ascii: "\"")) }
            // A multiple of 3 bytes so the pieces concatenate into one valid encoding.
            let room = Swift.max(chunkSize - buffer.count, 4)
            let take = Swift.min(total - position, Swift.max(room / 4 * 3, 3))
            let destination = buffer.reserve(Base64.encodedLength(take) + 8)
            let written = withExtendedLifetime(tensor) {
                Base64.encode(UnsafeRawBufferPointer(start: tensor.rawPointer + position, count: take), to: destination)
            }
            buffer.advance(by: written)
            position += take
            if position == total {
                buffer.append(UInt8(ascii: "\""))
                return true
            }
            return false
        }

        private mutating func writeRaw(_ tensor: Tensor) -> Bool {
            let total = tensor.byteCount
            let room = Swift.max(chunkSize - buffer.count, 1)
            let take = Swift.min(total - position, room)
            withExtendedLifetime(tensor) {
                buffer.append(UnsafeRawBufferPointer(start: tensor.rawPointer + position, count: take))
            }
            position += take
            return position == total
        }
    }
}

/// The flat index of the first NaN or infinity in a floating-point tensor, or nil.
func firstNonFiniteIndex(_ tensor: Tensor) -> Int? {
    switch tensor.dtype {
    case .float32:
        return tensor.withUnsafeBufferPointer(as: Float.self) { values in
            // Exponent bits all ones ⇔ NaN or infinity; checked with integer ops, branch-free per element.
            let bits = UnsafeRawBufferPointer(values).bindMemory(to: UInt32.self)
            var index = 0
            while index < bits.count {
                let end = Swift.min(index + 1024, bits.count)
                var any = false
                for i in index..<end { any = any || (bits[i] & 0x7F80_0000 == 0x7F80_0000) }
                if any { return (index..<end).first { bits[$0] & 0x7F80_0000 == 0x7F80_0000 } }
                index = end
            }
            return nil
        }
    case .float16:
        return tensor.withUnsafeBufferPointer(as: Float16.self) { values in values.firstIndex { !$0.isFinite } }
    case .bfloat16:
        return tensor.withUnsafeBufferPointer(as: BFloat16.self) { values in values.firstIndex { !$0.floatValue.isFinite } }
    default:
        return nil
    }
}
