import Foundation

/// Reads a safetensors body from memory (float32 tensors), for checking responses.
enum SafetensorsBytes {
    struct Parsed {
        var metadata: [String: String]
        var tensors: [String: (shape: [Int], values: [Float])]
    }

    enum Failure: Error { case malformed(String) }

    static func parse(_ bytes: [UInt8]) throws -> Parsed {
        guard bytes.count >= 8 else { throw Failure.malformed("\(bytes.count) bytes") }
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard 8 + headerLength <= bytes.count,
              let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as? [String: Any] else {
            throw Failure.malformed("header")
        }
        var parsed = Parsed(metadata: [:], tensors: [:])
        for (name, value) in header {
            guard let entry = value as? [String: Any] else { throw Failure.malformed(name) }
            if name == "__metadata__" {
                parsed.metadata = entry.compactMapValues { $0 as? String }
                continue
            }
            guard entry["dtype"] as? String == "F32", let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int] else {
                throw Failure.malformed(name)
            }
            let start = 8 + headerLength + offsets[0], end = 8 + headerLength + offsets[1]
            let values = stride(from: start, to: end, by: 4).map { index in
                Float(bitPattern: UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24)
            }
            parsed.tensors[name] = (shape, values)
        }
        return parsed
    }
}
