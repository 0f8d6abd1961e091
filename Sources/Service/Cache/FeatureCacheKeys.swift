import Foundation
import Registry
import Tensors

/// How the feature cache's keys are composed: which model version (`modelDigest`), which input
/// row (`inputDigests`), which post-processing (`processing`); the layer is the answered name.
///
/// Two requests share an entry only when all four are equal, and equal keys mean equal bytes:
/// the model digest covers everything that changes the weights or the forward pass
/// (architecture, configuration, weights SHA-256, precision), the input digest the exact row the
/// model sees (for texts the token ids *with* the batch's padding, as padding can change the last
/// bits of a pooled value), the processing descriptor every option that changes the output bytes.
public enum FeatureCacheKeys {
    /// The digest of a model as loaded: SHA-256 over its architecture, its configuration (the JSON
    /// text, or a configuration file's SHA-256), its weights' SHA-256 and its compute precision.
    /// A version re-registered with other weights or configuration gets another digest, so it
    /// can never read the entries of the one it replaced.
    public static func modelDigest(architecture: String, configuration: String, weightsSHA256: String, precision: String) -> String {
        var hash = SHA256()
        for field in ["periscope-feature-cache-model-1", architecture, configuration, weightsSHA256, precision] {
            hash.update(Array(field.utf8) + [0])
        }
        return SHA256.hexString(hash.finalize())
    }

    /// The digest of a registered version.
    public static func modelDigest(of version: ModelVersion) -> String {
        modelDigest(architecture: version.architecture, configuration: version.configuration, weightsSHA256: version.sha256,
                    precision: version.precision.rawValue)
    }

    /// The post-processing descriptor, or nil when such outputs are not cached: only pooled
    /// outputs are (`pool` mean, max or cls) — small, one vector per item — while full-resolution
    /// activations would fill the bound with a handful of entries. Every option that changes the
    /// bytes is in it.
    public static func processing(_ postProcessing: FeaturePostProcessing) -> String? {
        guard postProcessing.pool != .none else { return nil }
        return "pool=\(postProcessing.pool.rawValue);flatten=\(postProcessing.flatten);normalize=\(postProcessing.normalize);"
            + "dtype=\(postProcessing.dtype.rawValue)"
    }

    /// One SHA-256 per batch row over the model's inputs as they go into the forward pass: each
    /// input's name, dtype, shape without the batch axis, and the row's bytes, inputs in name
    /// order. Nil when an input is not batch-leading with `rows` rows.
    public static func inputDigests(_ inputs: [String: Tensor], rows: Int) -> [String]? {
        let named = inputs.sorted { $0.key < $1.key }
        guard named.allSatisfy({ $0.value.rank >= 1 && $0.value.shape[0] == rows }) else { return nil }
        return (0..<rows).map { row in
            var hash = SHA256()
            hash.update(Array("periscope-feature-cache-input-1".utf8) + [0])
            for (name, tensor) in named {
                let rowShape = Array(tensor.shape.dropFirst())
                hash.update(Array("\(name)\u{0}\(tensor.dtype.rawValue)\u{0}\(rowShape)\u{0}".utf8))
                let rowBytes = Tensor.elementCount(rowShape) * tensor.dtype.byteSize
                hash.update(UnsafeRawBufferPointer(start: tensor.rawPointer + row * rowBytes, count: rowBytes))
            }
            return SHA256.hexString(hash.finalize())
        }
    }

    /// Per row of a batch, a digest of the whole batch (every row's input digest, in order) and
    /// the row's position: the key of a row as a dataset extraction computes it. A forward pass is
    /// not bit-for-bit independent of the other rows of its batch (GEMM tiling and tails change
    /// with the row count), so an extraction that promises byte-identical shards may reuse a row
    /// only when it would compute the very same batch — which these keys say.
    public static func batchRowDigests(_ inputDigests: [String]) -> [String] {
        let batch = Array(inputDigests.joined(separator: ",").utf8)
        return inputDigests.indices.map { position in
            SHA256.hexString(SHA256.hash(Array("periscope-feature-cache-batch-row-1\u{0}\(position)\u{0}".utf8) + batch))
        }
    }
}
