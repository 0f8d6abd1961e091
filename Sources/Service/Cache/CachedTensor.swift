import Tensors

/// A tensor as the feature cache stores it: `PFC1`, the batch it was computed in (length-prefixed
/// text, `FeatureCacheKeys.batchDigest`), the dtype's name, the rank, each dimension (little-endian
/// UInt32), then the elements' bytes as they lie in memory (little-endian on every platform
/// Periscope builds for).
struct CachedTensor {
    var tensor: Tensor
    /// The batch the row was computed in: a forward pass is not bit-for-bit independent of the
    /// other rows of its batch, so a reader that promises byte-identical output (a dataset
    /// extraction) uses an entry only when it would compute the same batch.
    var batch: String

    static let magic: [UInt8] = Array("PFC1".utf8)

    static func encode(_ tensor: Tensor, batch: String) -> [UInt8] {
        let dtype = Array(tensor.dtype.rawValue.utf8)
        let batchBytes = Array(batch.utf8.prefix(255))
        var bytes = magic
        bytes.reserveCapacity(magic.count + 3 + batchBytes.count + dtype.count + 4 * tensor.rank + tensor.byteCount)
        bytes.append(UInt8(batchBytes.count))
        bytes += batchBytes
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
    static func decode(_ bytes: [UInt8]) -> CachedTensor? {
        guard bytes.count >= magic.count + 3, Array(bytes[0..<magic.count]) == magic else { return nil }
        var offset = magic.count
        let batchLength = Int(bytes[offset])
        offset += 1
        guard bytes.count >= offset + batchLength + 2 else { return nil }
        let batch = String(decoding: bytes[offset..<(offset + batchLength)], as: UTF8.self)
        offset += batchLength
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
        return CachedTensor(tensor: tensor, batch: batch)
    }
}
