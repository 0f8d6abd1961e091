import NN
import Tensors

/// Per-replica, per-node state of a run: the packed weight of a Conv, Gemm or MatMul whose weight
/// is a constant. The packed data itself is shared by all replicas through `PackedWeightCache`;
/// this box only keeps the shared entry alive and skips the cache lookup on later calls.
final class ONNXStepCache {
    var packed: PackedWeights?
    /// True when the node's weight input (1) is an initializer or a constant, so packing it once is valid.
    var weightIsConstant = false

    /// The packed weights derived from `sources` by `kind`, built at most once per process.
    func weights(kind: String, sources: [Tensor], build: () -> PackedWeights.Payload) -> PackedWeights {
        if let packed, packed.isBuilt(from: sources, kind: kind) { return packed }
        let entry = PackedWeightCache.shared.weights(kind: kind, sources: sources, build: build)
        packed = entry
        return entry
    }
}
