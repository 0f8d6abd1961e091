import Foundation
import Tensors

/// A minimal safetensors reader for the reference files in `Tests/Fixtures` (the real loader lives
/// in the NN target; the tests of this target only need to read small files whole).
/// Format: 8-byte little-endian header length, a JSON header `{name: {dtype, shape, data_offsets}}`,
/// then the raw little-endian data.
struct SafetensorsTestReader {
    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    private(set) var tensors: [String: Tensor] = [:]

    init(contentsOf url: URL) throws {
        let data = try Data(contentsOf: url)
        guard data.count >= 8 else { throw ReadError(description: "\(url.lastPathComponent): shorter than 8 bytes") }
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard headerLength <= data.count - 8,
              let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any]
        else { throw ReadError(description: "\(url.lastPathComponent): bad header") }
        let dataStart = 8 + headerLength
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtypeName = entry["dtype"] as? String,
                  let dtype = DType(safetensorsName: dtypeName), let shape = entry["shape"] as? [Int],
                  let offsets = entry["data_offsets"] as? [Int], offsets.count == 2,
                  dataStart + offsets[1] <= data.count, offsets[1] - offsets[0] == Tensor.elementCount(shape) * dtype.byteSize
            else { throw ReadError(description: "\(url.lastPathComponent): bad entry \(name)") }
            let tensor = Tensor(uninitializedShape: shape, dtype: dtype)
            data.withUnsafeBytes { raw in
                tensor.storage.base.copyMemory(from: raw.baseAddress! + dataStart + offsets[0], byteCount: offsets[1] - offsets[0])
            }
            tensors[name] = tensor
        }
    }

    /// The tensor called `name`; fails the caller's expectation (by throwing) when it is absent.
    func tensor(_ name: String) throws -> Tensor {
        guard let tensor = tensors[name] else { throw ReadError(description: "no tensor \(name)") }
        return tensor
    }
}
