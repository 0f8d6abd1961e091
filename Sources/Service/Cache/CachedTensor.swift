import Tensors

/// A tensor as the feature cache stores it: `PFC1`, the dtype's name, the rank, each dimension
/// (little-endian UInt32), then the elements' bytes as they lie in memory (little-endian on every
/// platform Periscope builds for).
enum CachedTensor {
    static let magic: [UInt8] = Array("PFC1".utf8)

    static func encode(_ tensor: Tensor) -> [UInt8] {
        let dtype = Array(tensor.dtype.rawValue.utf8)
        var bytes = magic
        bytes.reserveCapacity(magic.count + 2 + dtype.count + 4 * tensor.rank + tensor.byteCount)
        bytes.append(UInt8(dtype.count))
        bytes += dtype
        bytes.append(UInt8(tensor.rank))
        for dimension in tensor.shape {
            withUnsafeBytes(of: UInt32(dimension).littleEndian) { bytes += $0 }
        }
        bytes += UnsafeRawBufferPointer(start: tensor.rawPointer, count: tensor.byteCount)
        return bytes
    }

    /// The tensor in `bytes`, or nil when they are not a complete encoding (a damaged value is a
    /// miss, never a wrong answer).
    static func decode(_ bytes: [UInt8]) -> Tensor? {
        guard bytes.count >= magic.count + 2, Array(bytes[0..<magic.count]) == magic else { return nil }
        var offset = magic.count
        let dtypeLength = Int(bytes[offset])
        offset += 1
        guard bytes.count >= offset + dtypeLength + 1,
              let dtype = DType(rawValue: String(decoding: bytes[offset..<(offset + dtypeLength)], as: UTF8.self)) else { return nil }
        offset += dtypeLength
        let rank = Int(bytes[offset])
        offset += 1
        guard bytes.count >= offset + 4 * rank else { return nil }
        var shape: [Int] = []
        for _ in 0..<rank {
            shape.append(Int(UInt32(littleEndian: bytes[offset..<(offset + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })))
            offset += 4
        }
        let tensor = Tensor(uninitializedShape: shape, dtype: dtype)
        guard bytes.count - offset == tensor.byteCount else { return nil }
        bytes.withUnsafeBytes { source in
            tensor.storage.base.advanced(by: tensor.byteOffset).copyMemory(from: source.baseAddress! + offset, byteCount: tensor.byteCount)
        }
        return tensor
    }
}
