import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NN
import Registry
import Tensors
import Testing
import TestSupport

/// `periscope extract --dataset … --output-dir …` as a process: shards that hold what single
/// extractions give, a manifest that lists them with their checksums and the skipped items,
/// progress and summary, and a resume after `kill -9` that ends byte-identical to an
/// uninterrupted run.
@Suite struct ExtractDatasetTests {
    // MARK: - Images

    @Test func imageDirectoryBecomesShardsInPathOrderWithTheUnreadableImageSkipped() async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let images = try Self.imageDataset(in: directory)
            let output = directory.appendingPathComponent("features")
            let run = try PeriscopeProcess.run(["extract"] + Self.resnet(directory) + [
                "--dataset", images.path, "--layers", "layer4,fc", "--pool", "mean", "--output-dir", output.path,
                "--rows-per-shard", "2", "--batch-size", "2",
            ])
            #expect(run.status == 0, "\(run.standardError)")
            #expect(run.standardOutput.hasPrefix("wrote 3 rows (1 items skipped) in 2 shards to \(output.path): 4 items in "), "\(run.standardOutput)")

            let manifest = try Self.manifest(output)
            #expect(manifest["complete"] as? Bool == true)
            #expect(manifest["rows"] as? Int == 3)
            let input = try #require(manifest["input"] as? [String: Any])
            #expect(input["kind"] as? String == "images")
            #expect(input["items"] as? Int == 4)
            let skipped = try #require(manifest["skipped"] as? [[String: Any]])
            #expect(skipped.count == 1)
            #expect(skipped.first?["id"] as? String == "broken.jpg")
            #expect(skipped.first?["index"] as? Int == 2)
            #expect((skipped.first?["reason"] as? String)?.contains("JPEG") == true, "\(skipped)")
            let shards = try #require(manifest["shards"] as? [[String: Any]])
            #expect(shards.map { $0["items"] as? [Int] } == [[0, 2], [2, 4]])
            #expect(shards.map { $0["rows"] as? [Int] } == [[0, 2], [2, 3]])
            for shard in shards {
                let file = output.appendingPathComponent(try #require(shard["file"] as? String))
                let digest = try DurableFile.digest(ofFileAt: file.path)
                #expect(digest.sha256 == shard["sha256"] as? String)
                #expect(Int(digest.byteCount) == shard["byte_count"] as? Int)
            }

            // Rows in path-byte order, each what a single `extract --image` gives for that image.
            let first = try SafetensorsFile(contentsOf: output.appendingPathComponent("shard-00000.safetensors"))
            let second = try SafetensorsFile(contentsOf: output.appendingPathComponent("shard-00001.safetensors"))
            #expect(Set(first.names) == ["layer4", "fc", "item_index", "item_id"])
            #expect(Self.ids(try first.tensor(named: "item_id")) + Self.ids(try second.tensor(named: "item_id"))
                    == ["a/photo_64x48.png", "b/c/rgb8_37x23.png", "ycbcr444_30x22.jpg"])
            #expect(try first.tensor(named: "item_index").toInt64Array() + second.tensor(named: "item_index").toInt64Array() == [0, 1, 3])
            let layer4 = Tensor.concatenate([try first.tensor(named: "layer4"), try second.tensor(named: "layer4")], axis: 0)
            let logits = Tensor.concatenate([try first.tensor(named: "fc"), try second.tensor(named: "fc")], axis: 0)
            #expect(layer4.shape == [3, 512])
            for (row, path) in ["a/photo_64x48.png", "b/c/rgb8_37x23.png", "ycbcr444_30x22.jpg"].enumerated() {
                let single = directory.appendingPathComponent("single-\(row).safetensors")
                let alone = try PeriscopeProcess.run(["extract"] + Self.resnet(directory) + [
                    "--image", images.appendingPathComponent(path).path, "--layers", "layer4,fc", "--output", single.path,
                ])
                #expect(alone.status == 0, "\(alone.standardError)")
                let expected = try SafetensorsFile(contentsOf: single)
                let pooled = try expected.tensor(named: "layer4").mean(axes: [2, 3])
                #expect(isClose(layer4.sliced(axis: 0, row..<(row + 1)), pooled), "\(path)")
                #expect(isClose(logits.sliced(axis: 0, row..<(row + 1)), try expected.tensor(named: "fc")), "\(path)")
            }

            // --strict stops at the unreadable image, naming it.
            let strict = try PeriscopeProcess.run(["extract"] + Self.resnet(directory) + [
                "--dataset", images.path, "--layers", "fc", "--output-dir", directory.appendingPathComponent("strict").path, "--strict", "--quiet",
            ])
            #expect(strict.status == 1)
            #expect(strict.standardError.hasPrefix("periscope: item 2 ('broken.jpg') cannot be used: "), "\(strict.standardError)")
            #expect(strict.standardError.hasSuffix(" (--strict)\n"))
        }
    }

    // MARK: - Texts

    @Test func textLinesKeepTheTokenAxisPaddedPerShardWithTheirAttentionMask() async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let texts = ["Hello, world!", "", "The café's naïve résumé costs $3.50 — really?", "short"]
            let file = directory.appendingPathComponent("texts.txt")
            try Data((texts.joined(separator: "\r\n") + "\n").utf8).write(to: file)
            let output = directory.appendingPathComponent("out")
            let run = try PeriscopeProcess.run(["extract", "--hf-dir", Fixtures.url("bert_tiny").path, "--dataset", file.path,
                                                "--layers", "last_hidden_state,pooler_output", "--output-dir", output.path,
                                                "--batch-size", "1", "--quiet"])
            #expect(run.status == 0, "\(run.standardError)")
            #expect(run.standardError.isEmpty, "--quiet: \(run.standardError)")
            let manifest = try Self.manifest(output)
            let skipped = try #require(manifest["skipped"] as? [[String: Any]])
            #expect(skipped.map { $0["id"] as? String } == ["2"])
            #expect(skipped.map { $0["reason"] as? String } == ["line 2 is empty"])

            let shard = try SafetensorsFile(contentsOf: output.appendingPathComponent("shard-00000.safetensors"))
            #expect(Self.ids(try shard.tensor(named: "item_id")) == ["1", "3", "4"])
            let hidden = try shard.tensor(named: "last_hidden_state")
            let mask = try shard.tensor(named: "attention_mask")
            #expect(hidden.shape[0] == 3 && hidden.shape[2] == 32)
            #expect(mask.shape == [3, hidden.shape[1]])
            #expect(try shard.tensor(named: "pooler_output").shape == [3, 32])
            // Each row's real tokens are what a single text gives; the padding is zeros.
            for (row, text) in [(0, texts[0]), (1, texts[2]), (2, texts[3])] {
                let single = directory.appendingPathComponent("single-\(row).safetensors")
                let alone = try PeriscopeProcess.run(["extract", "--hf-dir", Fixtures.url("bert_tiny").path, "--text", text,
                                                      "--layers", "last_hidden_state", "--output", single.path])
                #expect(alone.status == 0, "\(alone.standardError)")
                let expected = try SafetensorsFile(contentsOf: single).tensor(named: "last_hidden_state")
                let tokens = expected.shape[1]
                let ours = hidden.sliced(axis: 0, row..<(row + 1))
                #expect(isClose(ours.sliced(axis: 1, 0..<tokens), expected), "\(text)")
                #expect(mask.sliced(axis: 0, row..<(row + 1)).toInt64Array().reduce(0, +) == Int64(tokens))
                if tokens < hidden.shape[1] {
                    #expect(ours.sliced(axis: 1, tokens..<hidden.shape[1]).toArray().allSatisfy { $0 == 0 })
                }
            }
        }
    }

    @Test func jsonLinesTakeTheirIdsAndSkipLinesThatAreNotTexts() async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("texts.jsonl")
            let lines = [#"{"id": "doc-a", "text": "Hello, world!"}"#, #""a bare string""#, #"{"id": 7, "text": "numbered"}"#,
                         #"{"title": "no text"}"#, "not json", #"{"text": "   "}"#]
            try Data(lines.joined(separator: "\n").utf8).write(to: file)
            let output = directory.appendingPathComponent("out")
            let run = try PeriscopeProcess.run(["extract", "--hf-dir", Fixtures.url("bert_tiny").path, "--dataset", file.path,
                                                "--layers", "last_hidden_state", "--pool", "mean", "--normalize", "--dtype", "float16",
                                                "--output-dir", output.path, "--rows-per-shard", "4", "--quiet"])
            #expect(run.status == 0, "\(run.standardError)")
            let manifest = try Self.manifest(output)
            let skipped = try #require(manifest["skipped"] as? [[String: Any]])
            #expect(skipped.map { $0["index"] as? Int } == [3, 4, 5])
            #expect(skipped.map { $0["reason"] as? String } == [
                #"line 4: expected a JSON string or an object with a "text" string"#, "line 5 is not valid JSON", "line 6 has an empty text",
            ])
            let shard = try SafetensorsFile(contentsOf: output.appendingPathComponent("shard-00000.safetensors"))
            #expect(Self.ids(try shard.tensor(named: "item_id")) == ["doc-a", "2", "7"])
            let pooled = try shard.tensor(named: "last_hidden_state")
            #expect(pooled.dtype == .float16 && pooled.shape == [3, 32])
            #expect(!shard.names.contains("attention_mask"), "pooled layers need no mask")
            let shards = try #require(manifest["shards"] as? [[String: Any]])
            #expect(shards.count == 2)
            #expect(shards.last?["file"] is NSNull, "the second shard's items were all skipped: no file")
        }
    }

    // MARK: - Tensors, and the shards without Periscope

    @Test func safetensorsRowsLoadWithNumpy() async throws {
        try await onDedicatedThread {
            let python = ProcessInfo.processInfo.environment["PERISCOPE_PYTHON"] ?? "python3"
            let probe = try Self.runTool(["/usr/bin/env", python, "-c", "import safetensors.numpy, numpy"])
            try #require(probe.status == 0, "\(python) cannot import safetensors and numpy (pip install -r scripts/ci-requirements.txt, or set PERISCOPE_PYTHON)")
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let output = directory.appendingPathComponent("out")
            let run = try PeriscopeProcess.run(["extract"] + Self.resnet(directory) + [
                "--dataset", Fixtures.url("resnet_basic_1111/input.safetensors").path, "--layers", "layer1.0.bn1,-1",
                "--output-dir", output.path, "--rows-per-shard", "1", "--quiet",
            ])
            #expect(run.status == 0, "\(run.standardError)")
            let expected = try SafetensorsFile(contentsOf: Fixtures.url("resnet_basic_1111/expected.safetensors"))
            for row in 0..<2 {
                let shard = try SafetensorsFile(contentsOf: output.appendingPathComponent("shard-0000\(row).safetensors"))
                #expect(isClose(try shard.tensor(named: "layer1.0.bn1"), try expected.tensor(named: "layer1.0.bn1").sliced(axis: 0, row..<(row + 1))))
                #expect(isClose(try shard.tensor(named: "fc"), try expected.tensor(named: "fc").sliced(axis: 0, row..<(row + 1))))
            }
            let check = """
            import hashlib, json, sys
            from safetensors.numpy import load_file
            out = sys.argv[1]
            manifest = json.load(open(out + "/manifest.json"))
            for shard in manifest["shards"]:
                data = open(out + "/" + shard["file"], "rb").read()
                assert hashlib.sha256(data).hexdigest() == shard["sha256"], shard
                tensors = load_file(out + "/" + shard["file"])
                rows = shard["rows"][1] - shard["rows"][0]
                assert all(t.shape[0] == rows for t in tensors.values()), {k: t.shape for k, t in tensors.items()}
                ids = [bytes(r).rstrip(b"\\0").decode() for r in tensors["item_id"]]
                assert ids == [str(i) for i in tensors["item_index"]], ids
                print(shard["file"], sorted((k, list(t.shape), str(t.dtype)) for k, t in tensors.items()))
            """
            let loaded = try Self.runTool(["/usr/bin/env", python, "-c", check, output.path])
            #expect(loaded.status == 0, "\(loaded.error)")
            #expect(loaded.output.contains("shard-00001.safetensors [('fc', [1, 1000], 'float32'), ('item_id', [1, 1], 'uint8'), ('item_index', [1], 'int64'), ('layer1.0.bn1', [1, 64, 16, 16], 'float32')]"), "\(loaded.output)")
        }
    }

    // MARK: - Progress, resume

    @Test func progressLinesWhenNotATerminalAndChangedOptionsRefuseToResume() async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let images = try Self.imageDataset(in: directory)
            let output = directory.appendingPathComponent("out")
            let options = ["--dataset", images.path, "--layers", "layer4", "--pool", "mean", "--output-dir", output.path, "--batch-size", "1"]
            let run = try PeriscopeProcess.run(["extract"] + Self.resnet(directory) + options + ["--progress-interval", "0.000001"])
            #expect(run.status == 0, "\(run.standardError)")
            let lines = run.standardError.split(separator: "\n")
            #expect(lines.count >= 2, "\(run.standardError)")
            #expect(lines.last?.hasPrefix("extract: 100% 4/4 items, ") == true, "\(run.standardError)")
            #expect(lines.last?.hasSuffix(", ETA 0s, 1 error") == true, "\(run.standardError)")

            let again = try PeriscopeProcess.run(["extract"] + Self.resnet(directory) + options)
            #expect(again.status == 0, "\(again.standardError)")
            #expect(again.standardOutput == "wrote 3 rows (1 items skipped) in 1 shards to \(output.path): already complete, nothing to do\n")

            let changed = try PeriscopeProcess.run(["extract"] + Self.resnet(directory) + options + ["--pool", "max", "--normalize"])
            #expect(changed.status == 1)
            #expect(changed.standardError == "periscope: cannot resume the extraction in \(output.path): --pool (was mean, now max); "
                    + "--normalize (was false, now true) — rerun with the same model and options, or give a new output directory\n")

            // Other weights: one byte of the last tensor changed.
            var weights = try Data(contentsOf: Fixtures.url("resnet_basic_1111/model.safetensors"))
            weights[weights.count - 1] ^= 1
            let otherWeights = directory.appendingPathComponent("other.safetensors")
            try weights.write(to: otherWeights)
            let otherModel = try PeriscopeProcess.run(["extract", "--architecture", "resnet", "--config", Self.configuration(directory).path,
                                                       "--weights", otherWeights.path] + options)
            #expect(otherModel.status == 1)
            #expect(otherModel.standardError.contains("cannot resume the extraction in \(output.path): model weights_sha256 (was "),
                    "\(otherModel.standardError)")

            let foreign = directory.appendingPathComponent("foreign")
            try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
            try Data("x".utf8).write(to: foreign.appendingPathComponent("notes.txt"))
            let refused = try PeriscopeProcess.run(["extract"] + Self.resnet(directory) + ["--dataset", images.path, "--layers", "fc",
                                                                                            "--output-dir", foreign.path])
            #expect(refused.status == 1)
            #expect(refused.standardError.hasPrefix("periscope: output directory \(foreign.path) is not empty and has no manifest.json"))
        }
    }

    /// Killed with SIGKILL three times while it runs, resumed each time: the shards and the
    /// manifest equal an uninterrupted run's, byte for byte.
    @Test func resumeAfterKillIsByteIdenticalToAnUninterruptedRun() async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let images = try Self.imageDataset(in: directory, copies: 60)
            let model = try Self.resnet(directory)
            func arguments(_ output: URL) -> [String] {
                ["extract"] + model + ["--dataset", images.path, "--layers", "layer3,avgpool", "--pool", "mean",
                                                        "--output-dir", output.path, "--rows-per-shard", "8", "--batch-size", "4", "--quiet"]
            }
            let reference = directory.appendingPathComponent("reference")
            let uninterrupted = try PeriscopeProcess.run(arguments(reference))
            #expect(uninterrupted.status == 0, "\(uninterrupted.standardError)")

            let resumed = directory.appendingPathComponent("resumed")
            func recordedShards() -> Int { ((try? Self.manifest(resumed))?["shards"] as? [Any])?.count ?? 0 }
            var killedAt: [Int] = []
            for shards in [2, 9, 17] {
                let process = ChildProcess()
                process.executableURL = PeriscopeProcess.executable
                process.arguments = arguments(resumed)
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                while process.isRunning, recordedShards() < shards {
                    usleep(1000)
                }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                #expect(process.terminationReason == .uncaughtSignal, "the run ended before it was killed")
                #expect(try Self.manifest(resumed)["complete"] as? Bool == false)
                killedAt.append(recordedShards())
            }
            #expect(killedAt.count == 3 && killedAt == killedAt.sorted(), "killed after \(killedAt) shards")
            let finished = try PeriscopeProcess.run(arguments(resumed))
            #expect(finished.status == 0, "\(finished.standardError)")
            #expect(finished.standardOutput.contains(", resumed at shard \(killedAt.last ?? 0): "), "\(finished.standardOutput)")

            let names = try FileManager.default.contentsOfDirectory(atPath: reference.path).sorted()
            #expect(names.count == 1 + 31, "\(names)")  // 244 items, 8 per shard
            #expect(try FileManager.default.contentsOfDirectory(atPath: resumed.path).sorted() == names)
            for name in names {
                let expected = try Data(contentsOf: reference.appendingPathComponent(name))
                #expect(try Data(contentsOf: resumed.appendingPathComponent(name)) == expected, "\(name) differs")
            }
        }
    }

    // MARK: - Helpers

    /// `--architecture resnet` with the fixture weights and 64×64 preprocessing (small and fast).
    static func resnet(_ directory: URL) throws -> [String] {
        ["--architecture", "resnet", "--config", try configuration(directory).path,
         "--weights", Fixtures.url("resnet_basic_1111/model.safetensors").path]
    }

    /// The fixture's ResNet configuration with `preprocessing` resizing to 72 and cropping 64.
    static func configuration(_ directory: URL) throws -> URL {
        let url = directory.appendingPathComponent("resnet.json")
        let text = #"{"architecture": "resnet", "block": "basic", "layers": [1, 1, 1, 1], "num_classes": 1000, "preprocessing": {"resize_size": 72, "crop_size": 64}}"#
        try Data(text.utf8).write(to: url)
        return url
    }

    /// `images/`: `a/photo_64x48.png`, `b/c/rgb8_37x23.png`, `broken.jpg` (a truncated JPEG),
    /// `ycbcr444_30x22.jpg`, and a `notes.txt` that is not an image; with `copies`, that many
    /// more copies of the readable ones under `more/`.
    static func imageDataset(in directory: URL, copies: Int = 0) throws -> URL {
        let images = directory.appendingPathComponent("images")
        let files = FileManager.default
        for folder in ["a", "b/c", "more"] {
            try files.createDirectory(at: images.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        try files.copyItem(at: Fixtures.url("images/photo_64x48.png"), to: images.appendingPathComponent("a/photo_64x48.png"))
        try files.copyItem(at: Fixtures.url("images/rgb8_37x23.png"), to: images.appendingPathComponent("b/c/rgb8_37x23.png"))
        try files.copyItem(at: Fixtures.url("images/ycbcr444_30x22.jpg"), to: images.appendingPathComponent("ycbcr444_30x22.jpg"))
        let jpeg = try Data(contentsOf: Fixtures.url("images/ycbcr444_30x22.jpg"))
        try jpeg.prefix(jpeg.count / 3).write(to: images.appendingPathComponent("broken.jpg"))
        try Data("not an image".utf8).write(to: images.appendingPathComponent("notes.txt"))
        for copy in 0..<copies {
            for (source, name) in [("photo_64x48.png", "p.png"), ("rgb8_37x23.png", "r.png"), ("ycbcr444_30x22.jpg", "y.jpg"),
                                   ("gray_27x21.jpg", "g.jpg")] {
                try files.copyItem(at: Fixtures.url("images/" + source), to: images.appendingPathComponent("more/" + String(format: "%03ld", copy) + "-" + name))
            }
        }
        return images
    }

    /// The manifest in `output` as JSON.
    static func manifest(_ output: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: output.appendingPathComponent("manifest.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The ids of an `item_id` tensor (uint8 [rows, width], NUL-padded UTF-8).
    static func ids(_ tensor: Tensor) -> [String] {
        let width = tensor.shape[1]
        return tensor.withUnsafeBufferPointer(as: UInt8.self) { bytes in
            (0..<tensor.shape[0]).map { row in
                String(decoding: bytes[(row * width)..<((row + 1) * width)].prefix { $0 != 0 }, as: UTF8.self)
            }
        }
    }

    /// Runs a tool; its status and output.
    static func runTool(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile(), err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}
