import Tensors

/// The safetensors format (as NN's `SafetensorsWriter` writes it, `.reference` order) as a
/// `StreamingBody`: the header is built up front and the tensors' bytes stream after it, so a
/// large response is never copied into one buffer. The length is known, for `Content-Length`.
public enum SafetensorsBody {
    /// The body for `tensors` (names unique, non-empty) and `metadata` (`__metadata__`, keys sorted).
    public static func make(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) -> StreamingBody {
        // Larger dtypes first, then by name, so every tensor starts aligned for its dtype.
        let ordered = tensors.sorted { ($1.tensor.dtype.byteSize, $0.name) < ($0.tensor.dtype.byteSize, $1.name) }
        let header = JSONOutputBuffer(capacity: 256)
        header.append(UInt8(ascii: "{"))
        var first = true
        if !metadata.isEmpty {
            header.append(raw: #""__metadata__":{"#)
            for (index, key) in metadata.keys.sorted().enumerated() {
                if index > 0 { header.append(UInt8(ascii: ",")) }
                header.append(string: key)
                header.append(UInt8(ascii: ":"))
                header.append(string: metadata[key]!)
            }
            header.append(UInt8(ascii: "}"))
            first = false
        }
        var offset = 0
        for (name, tensor) in ordered {
            if !first { header.append(UInt8(ascii: ",")) }
            first = false
            header.append(string: name)
            header.append(raw: #":{"dtype":""#)
            header.append(Array(tensor.dtype.safetensorsName.utf8))
            header.append(raw: #"","shape":"#)
            header.append(integers: tensor.shape)
            header.append(raw: #","data_offsets":["#)
            header.append(integer: offset)
            header.append(UInt8(ascii: ","))
            header.append(integer: offset + tensor.byteCount)
            header.append(raw: "]}")
            offset += tensor.byteCount
        }
        header.append(UInt8(ascii: "}"))
        // Pad with spaces to a multiple of 8 so the data starts 8-byte aligned.
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var length = [UInt8](repeating: 0, count: 8)
        var headerLength = UInt64(header.count)
        for index in 0..<8 {
            length[index] = UInt8(truncatingIfNeeded: headerLength)
            headerLength >>= 8
        }
        var segments: [StreamingBody.Segment] = [.bytes(length + header.takeBytes())]
        for (_, tensor) in ordered where tensor.byteCount > 0 { segments.append(.raw(tensor)) }
        return StreamingBody(segments)
    }
}
