import Foundation
import NN
import Registry
import Tensors
import Testing
import TestSupport

/// `periscope extract --dataset … --cache FILE`: cached items are not computed again, a re-run
/// over a grown dataset computes only the new items, and the shards are byte-identical to those
/// of a run without the cache.
@Suite struct ExtractCacheTests {
    /// Every shard file of `output`, by name, as bytes.
    static func shards(_ output: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: output.path) where name.hasPrefix("shard-") {
            files[name] = try Data(contentsOf: output.appendingPathComponent(name))
        }
        return files
    }

    /// `rows` random images of 3×64×64 (rows < `rows` of a larger call are the same).
    static func writeTensorDataset(rows: Int, to url: URL) throws {
        let images = randomTensor([rows, 3, 64, 64], seed: 77)
        try SafetensorsWriter.write([("input", images)], to: url)
    }

    static func extract(_ model: [String], dataset: URL, output: URL, options: [String], cache: URL?) throws -> PeriscopeProcess.Outcome {
        try PeriscopeProcess.run(["extract"] + model + ["--dataset", dataset.path, "--output-dir", output.path, "--quiet"] + options
                                 + (cache.map { ["--cache", $0.path] } ?? []))
    }

    @Test func aRerunOverAGrownDatasetComputesOnlyTheNewItemsAndWritesTheSameBytes() async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let model = try ExtractDatasetTests.resnet(directory)
            let options = ["--layers", "layer3,-1", "--pool", "mean", "--rows-per-shard", "5", "--batch-size", "4"]
            let cache = directory.appendingPathComponent("cache.sqlite3")
            let dataset = directory.appendingPathComponent("images.safetensors")
            try Self.writeTensorDataset(rows: 12, to: dataset)

            let plain = try Self.extract(model, dataset: dataset, output: directory.appendingPathComponent("plain"), options: options, cache: nil)
            #expect(plain.status == 0, "\(plain.standardError)")
            let filling = try Self.extract(model, dataset: dataset, output: directory.appendingPathComponent("filling"), options: options, cache: cache)
            #expect(filling.status == 0, "\(filling.standardError)")
            #expect(!filling.standardOutput.contains("from the cache"), "\(filling.standardOutput)")
            let cached = try Self.extract(model, dataset: dataset, output: directory.appendingPathComponent("cached"), options: options, cache: cache)
            #expect(cached.status == 0, "\(cached.standardError)")
            #expect(cached.standardOutput.contains("12 items in "), "\(cached.standardOutput)")
            #expect(cached.standardOutput.contains("(12 from the cache, 0 computed)"), "\(cached.standardOutput)")
            let reference = try Self.shards(directory.appendingPathComponent("plain"))
            #expect(reference.count == 3)
            #expect(try Self.shards(directory.appendingPathComponent("filling")) == reference)
            #expect(try Self.shards(directory.appendingPathComponent("cached")) == reference)

            // 7 more items. Shard 2 was items 10–11 (one batch of 2) and is now 10–14: its first batch
            // 10–13 is another batch, computed whole (old rows 10 and 11 too) so that its bits are
            // those of an uncached run; shards 0 and 1 come from the cache.
            try Self.writeTensorDataset(rows: 19, to: dataset)
            let grown = try Self.extract(model, dataset: dataset, output: directory.appendingPathComponent("grown"), options: options, cache: cache)
            #expect(grown.status == 0, "\(grown.standardError)")
            #expect(grown.standardOutput.contains("(10 from the cache, 9 computed)"), "\(grown.standardOutput)")
            let grownPlain = try Self.extract(model, dataset: dataset, output: directory.appendingPathComponent("grown-plain"), options: options, cache: nil)
            #expect(grownPlain.status == 0, "\(grownPlain.standardError)")
            let grownReference = try Self.shards(directory.appendingPathComponent("grown-plain"))
            #expect(grownReference.count == 4)
            #expect(try Self.shards(directory.appendingPathComponent("grown")) == grownReference)
        }
    }

    @Test func textShardsFromTheCacheAreByteIdentical() async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let texts = ["Hello, world!", "a much longer sentence with quite a few more words in it", "short", "The quick brown fox.",
                         "Periscope looks inside networks.", "x", "one two three four five six", "layers", "café"]
            let file = directory.appendingPathComponent("texts.txt")
            try Data((texts.joined(separator: "\n") + "\n").utf8).write(to: file)
            let model = ["--hf-dir", Fixtures.url("bert_tiny").path]
            let options = ["--layers", "last_hidden_state,pooler_output", "--pool", "cls", "--normalize", "--batch-size", "3", "--rows-per-shard", "4"]
            let cache = directory.appendingPathComponent("cache.sqlite3")
            let plain = try Self.extract(model, dataset: file, output: directory.appendingPathComponent("plain"), options: options, cache: nil)
            #expect(plain.status == 0, "\(plain.standardError)")
            for run in ["first", "second"] {
                let outcome = try Self.extract(model, dataset: file, output: directory.appendingPathComponent(run), options: options, cache: cache)
                #expect(outcome.status == 0, "\(outcome.standardError)")
                if run == "second" { #expect(outcome.standardOutput.contains("(9 from the cache, 0 computed)"), "\(outcome.standardOutput)") }
                #expect(try Self.shards(directory.appendingPathComponent(run)) == Self.shards(directory.appendingPathComponent("plain")), "\(run)")
            }
        }
    }

    @Test func unpooledOutputsAndSeededModelsAreNotCachedAndBadOptionsNameTheOption() async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let dataset = directory.appendingPathComponent("images.safetensors")
            try Self.writeTensorDataset(rows: 3, to: dataset)
            let cache = directory.appendingPathComponent("cache.sqlite3")
            let model = try ExtractDatasetTests.resnet(directory)
            for run in ["a", "b"] {
                let outcome = try Self.extract(model, dataset: dataset, output: directory.appendingPathComponent(run), options: ["--layers", "layer4"], cache: cache)
                #expect(outcome.status == 0, "\(outcome.standardError)")
                #expect(!outcome.standardOutput.contains("from the cache"), "\(outcome.standardOutput)")
            }
            #expect(try FeatureCacheStore(path: cache.path, maxBytes: 1 << 20).entryCount() == 0)
            let negative = try Self.extract(model, dataset: dataset, output: directory.appendingPathComponent("c"),
                                            options: ["--layers", "layer4", "--cache-max-bytes", "-1"], cache: cache)
            #expect(negative.status == 1)
            #expect(negative.standardError.contains("cache-max-bytes"), "\(negative.standardError)")
            let alone = try Self.extract(model, dataset: dataset, output: directory.appendingPathComponent("d"),
                                         options: ["--layers", "layer4", "--cache-max-bytes", "100"], cache: nil)
            #expect(alone.status == 1)
            #expect(alone.standardError.contains("--cache"), "\(alone.standardError)")
        }
    }
}
