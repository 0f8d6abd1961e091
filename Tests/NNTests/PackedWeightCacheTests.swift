import NN
import Tensors
import Testing
import TestSupport

/// Packed inference weights are built once per weight storage, shared by replicas, rebuilt when a
/// weight changes, and freed with the last module using them.
@Suite struct PackedWeightCacheTests {
    @Test func replicasShareOnePackedWeight() throws {
        let linear = withRandomSeed(1) { Linear(inFeatures: 8, outFeatures: 5) }
        let replica = try linear.makeReplica { Linear(inFeatures: 8, outFeatures: 5) }
        #expect(linear.weight.value.storage === replica.weight.value.storage)
        let packed = linear.inferenceWeights()
        #expect(replica.inferenceWeights() === packed)
        // The same object on repeated calls (no rebuild).
        #expect(linear.inferenceWeights() === packed)
        #expect(packed.matrix.rows == 5 && packed.matrix.columns == 8)
    }

    @Test func replacedOrModifiedWeightsAreRepacked() throws {
        let linear = withRandomSeed(2) { Linear(inFeatures: 4, outFeatures: 3) }.eval()
        let x = randomTensor([2, 4], seed: 3)
        let before = linear.inferenceWeights()
        // A new value (as loading a state dict gives): a new entry.
        linear.weight.value = randomTensor([3, 4], seed: 4)
        let after = linear.inferenceWeights()
        #expect(after !== before)
        #expect(isClose(GradMode.withDisabled { try! linear(x) }, Tensor.linear(x, weight: linear.weight.value.detached(), bias: linear.bias!.value.detached()),
                        tolerance: 1e-6))
        // An in-place write copies the storage the cache shares, so it is noticed too.
        linear.weight.value.withMutableFloats { $0[0] += 1 }
        #expect(linear.inferenceWeights() !== after)
        #expect(isClose(GradMode.withDisabled { try! linear(x) }, Tensor.linear(x, weight: linear.weight.value.detached(), bias: linear.bias!.value.detached()),
                        tolerance: 1e-6))
    }

    @Test func entriesDieWithTheirLastUser() {
        let cache = PackedWeightCache()
        let weight = randomTensor([6, 2], seed: 5)
        var built = 0
        var entry: PackedWeights? = cache.weights(kind: "test", sources: [weight]) {
            built += 1
            return PackedWeights.Payload(matrix: PackedMatrix(weight), bias: nil)
        }
        let again = cache.weights(kind: "test", sources: [weight]) {
            built += 1
            return PackedWeights.Payload(matrix: PackedMatrix(weight), bias: nil)
        }
        #expect(built == 1 && again === entry)
        #expect(cache.liveEntryCount == 1)
        // Another kind from the same tensor is another entry.
        let other = cache.weights(kind: "other", sources: [weight]) { PackedWeights.Payload(matrix: PackedMatrix(weight), bias: nil) }
        #expect(other !== entry && cache.liveEntryCount == 2)
        entry = nil
        _ = again.kind
        #expect(cache.liveEntryCount == 2)  // `again` still holds it
        #expect(entry == nil)
    }

    @Test func releasedEntriesAreNotReturned() {
        let cache = PackedWeightCache()
        let weight = randomTensor([3, 3], seed: 6)
        weak var first: PackedWeights?
        do {
            let entry = cache.weights(kind: "k", sources: [weight]) { PackedWeights.Payload(matrix: PackedMatrix(weight), bias: nil) }
            first = entry
            #expect(first != nil)
        }
        #expect(first == nil)
        #expect(cache.liveEntryCount == 0)
        let second = cache.weights(kind: "k", sources: [weight]) { PackedWeights.Payload(matrix: PackedMatrix(weight), bias: nil) }
        #expect(second.isBuilt(from: [weight], kind: "k"))
        #expect(!second.isBuilt(from: [weight.detachedCopy()], kind: "k"))
        #expect(!second.isBuilt(from: [weight], kind: "other"))
    }
}
