import Foundation
import Logging
@testable import Registry
import Tensors
import Testing
import TestSupport
@testable import Service

@Suite struct FeatureCacheKeysTests {
    @Test func theModelDigestChangesWithEachPartOfTheModel() {
        let base = FeatureCacheKeys.modelDigest(architecture: "resnet", configuration: "{}", weightsSHA256: "aa", precision: "float32")
        #expect(base.count == 64)
        #expect(base == FeatureCacheKeys.modelDigest(architecture: "resnet", configuration: "{}", weightsSHA256: "aa", precision: "float32"))
        let others = [
            FeatureCacheKeys.modelDigest(architecture: "vit", configuration: "{}", weightsSHA256: "aa", precision: "float32"),
            FeatureCacheKeys.modelDigest(architecture: "resnet", configuration: "{\"a\":1}", weightsSHA256: "aa", precision: "float32"),
            FeatureCacheKeys.modelDigest(architecture: "resnet", configuration: "{}", weightsSHA256: "ab", precision: "float32"),
            FeatureCacheKeys.modelDigest(architecture: "resnet", configuration: "{}", weightsSHA256: "aa", precision: "int8"),
            // Fields are separated: moving a character from one to the next is another digest.
            FeatureCacheKeys.modelDigest(architecture: "resne", configuration: "t{}", weightsSHA256: "aa", precision: "float32"),
        ]
        #expect(Set(others + [base]).count == others.count + 1)
    }

    @Test func onlyPooledOutputsAreCachedAndEveryByteChangingOptionIsInTheDescriptor() {
        #expect(FeatureCacheKeys.processing(FeaturePostProcessing()) == nil)
        #expect(FeatureCacheKeys.processing(FeaturePostProcessing(pool: .none, normalize: true)) == nil)
        let variants = [
            FeaturePostProcessing(pool: .mean), FeaturePostProcessing(pool: .max), FeaturePostProcessing(pool: .cls),
            FeaturePostProcessing(pool: .mean, flatten: true), FeaturePostProcessing(pool: .mean, normalize: true),
            FeaturePostProcessing(pool: .mean, dtype: .float16),
        ]
        let descriptors = variants.compactMap(FeatureCacheKeys.processing)
        #expect(descriptors.count == variants.count)
        #expect(Set(descriptors).count == variants.count)
    }

    @Test func inputDigestsArePerRowAndCoverNamesDtypesShapesAndBytes() throws {
        let batch = randomTensor([3, 4, 5], seed: 1)
        let digests = try #require(FeatureCacheKeys.inputDigests(["input": batch], rows: 3))
        #expect(Set(digests).count == 3)
        // A row's digest does not depend on the batch it came in.
        let alone = try #require(FeatureCacheKeys.inputDigests(["input": batch.sliced(axis: 0, 1..<2)], rows: 1))
        #expect(alone == [digests[1]])
        // Name, shape and dtype are part of it, not just the bytes.
        #expect(FeatureCacheKeys.inputDigests(["pixels": batch], rows: 3)![0] != digests[0])
        #expect(FeatureCacheKeys.inputDigests(["input": batch.reshaped([3, 5, 4])], rows: 3)![0] != digests[0])
        let ids = Tensor(shape: [2, 3], elements: [Int64(101), 7, 102, 101, 8, 102])
        let mask = Tensor(shape: [2, 3], elements: [Int64(1), 1, 1, 1, 1, 1])
        let text = try #require(FeatureCacheKeys.inputDigests(["input_ids": ids, "attention_mask": mask], rows: 2))
        #expect(text[0] != text[1])
        // Padding is part of the row the model sees.
        let padded = Tensor(shape: [1, 4], elements: [Int64(101), 7, 102, 0])
        let paddedMask = Tensor(shape: [1, 4], elements: [Int64(1), 1, 1, 0])
        #expect(FeatureCacheKeys.inputDigests(["input_ids": padded, "attention_mask": paddedMask], rows: 1)![0] != text[0])
        // A row in a batch is keyed by the whole batch and its position in it.
        let inBatch = FeatureCacheKeys.batchRowDigests(digests)
        #expect(Set(inBatch).count == 3 && Set(inBatch).isDisjoint(with: digests))
        #expect(FeatureCacheKeys.batchRowDigests(Array(digests.prefix(2))) != Array(inBatch.prefix(2)))
        #expect(FeatureCacheKeys.batchRowDigests([digests[0], digests[0]]).count == 2)
        #expect(Set(FeatureCacheKeys.batchRowDigests([digests[0], digests[0]])).count == 2)
        #expect(FeatureCacheKeys.batchRowDigests(digests) == inBatch)
        // Inputs that are not batch-leading with that many rows have none.
        #expect(FeatureCacheKeys.inputDigests(["input": batch], rows: 2) == nil)
    }

    @Test(arguments: [DType.float32, .float16])
    func cachedTensorsRoundTripExactly(dtype: DType) {
        let tensor = randomTensor([1, 37], seed: 9).to(dtype)
        let encoded = CachedTensor.encode(tensor)
        guard let decoded = CachedTensor.decode(encoded) else {
            Issue.record("a complete encoding did not decode")
            return
        }
        #expect(decoded.shape == [1, 37])
        #expect(decoded.dtype == dtype)
        #expect(Array(UnsafeRawBufferPointer(start: decoded.rawPointer, count: decoded.byteCount))
                == Array(UnsafeRawBufferPointer(start: tensor.rawPointer, count: tensor.byteCount)))
        // A truncated or foreign value is a miss, not a wrong tensor.
        #expect(CachedTensor.decode(Array(encoded.dropLast())) == nil)
        #expect(CachedTensor.decode([0, 1, 2, 3, 4, 5]) == nil)
    }

    @Test func aFailingStoreIsAMissAndIsLoggedOnce() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("periscope-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sink = CapturingLogSink()
        let metrics = ServiceMetrics(includeProcessMetrics: false)
        let cache = try #require(FeatureCache.open(path: directory.path + "/cache.sqlite3", maxBytes: 1 << 20, metrics: metrics,
                                                   logger: Logger(label: "test", sink: sink)))
        let row = randomTensor([2, 4], seed: 2)
        cache.store(modelDigest: "m", inputDigests: ["a", "b"], processing: "p", features: [("x", row)])
        let found = cache.lookup(model: "net", modelDigest: "m", inputDigests: ["a", "b", "c"], layers: ["x"], processing: "p")
        #expect(found[0]?["x"]?.toArray() == Array(row.toArray()[0..<4]))
        #expect(found[1]?["x"]?.toArray() == Array(row.toArray()[4..<8]))
        #expect(found[2] == nil)
        // Another connection damages the database under the open one: every call now fails, and
        // none throws or crashes.
        try SQLiteConnection(path: directory.path + "/cache.sqlite3", busyTimeoutMilliseconds: 1000).execute("DROP TABLE entries")
        for _ in 0..<3 {
            #expect(cache.lookup(model: "net", modelDigest: "m", inputDigests: ["a"], layers: ["x"], processing: "p").allSatisfy { $0 == nil })
            cache.store(modelDigest: "m", inputDigests: ["c"], processing: "p", features: [("x", row.sliced(axis: 0, 0..<1))])
        }
        #expect(sink.lines.filter { $0.contains("feature cache") }.count == 1)
    }
}
