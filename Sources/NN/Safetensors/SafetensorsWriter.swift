import Foundation
import Tensors

/// Writes the safetensors format: 8-byte little-endian header length, a JSON header padded with
/// spaces to a multiple of 8 bytes (so the data starts 8-byte aligned, as the reference
/// implementation does), then the tensors' bytes back to back.
public enum SafetensorsWriter {
    /// The order of tensors in the header and the data.
    public enum Order: Sendable {
        /// The reference implementation's order: larger dtypes first, then by name. Every tensor
        /// then starts aligned for its dtype, so readers can view it without copying.
        case reference
        /// The order given (a state dict's order). Tensors after an odd-sized smaller dtype may be
        /// misaligned; readers then copy them.
        case insertion
    }

    /// The safetensors bytes for `tensors`, with `metadata` as `__metadata__` (keys sorted).
    public static func serialize(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                                 order: Order = .reference) throws -> Data {
        var seen = Set<String>()
        for (name, _) in tensors {
            guard !name.isEmpty, name != "__metadata__" else { throw SafetensorsError.invalidTensorName(name) }
            guard seen.insert(name).inserted else { throw SafetensorsError.duplicateKey(name) }
        }
        let ordered = switch order {
        case .insertion: tensors
        case .reference: tensors.sorted { ($1.tensor.dtype.byteSize, $0.name) < ($0.tensor.dtype.byteSize, $1.name) }
        }

        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, tensor) in ordered {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"\(tensor.dtype.safetensorsName)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + tensor.byteCount)]}")
            offset += tensor.byteCount
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)

        var data = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for (_, tensor) in ordered {
            data.append(UnsafeRawBufferPointer(start: tensor.rawPointer, count: tensor.byteCount).bindMemory(to: UInt8.self))
        }
        return data
    }

    /// The safetensors bytes of a state dict.
    public static func serialize(_ stateDict: StateDict, metadata: [String: String] = [:], order: Order = .reference) throws -> Data {
        try serialize(stateDict.entries.map { ($0.key, $0.tensor) }, metadata: metadata, order: order)
    }

    /// Writes `tensors` to `url` atomically (a temporary file renamed into place).
    public static func write(_ tensors: [(name: String, tensor: Tensor)], to url: URL, metadata: [String: String] = [:],
                             order: Order = .reference) throws {
        let data = try serialize(tensors, metadata: metadata, order: order)
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw SafetensorsError.io(path: url.path, reason: error.localizedDescription)
        }
    }

    /// A JSON string literal (control characters escaped).
    public static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                result += String(format: "\\u%04x", scalar.value)
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
