import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// `periscope extract … --shard-index I --shard-count N` in N processes, then `periscope
/// extract-merge`: the merged directory equals one process's output byte for byte; bad split
/// options and parts that do not fit together are refused, naming the option or the directory.
@Suite struct ExtractMergeTests {
    /// 16 images (one unreadable, item 2), 3 per shard: 6 shards, the last with one item. With 7
    /// processes, index 0 gets no shard at all (⌊0·6/7⌋ ..< ⌊1·6/7⌋ is empty).
    @Test(arguments: [2, 7])
    func processesWithAShardCountMergeIntoExactlyTheSingleProcessOutput(count: Int) async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let images = try ExtractDatasetTests.imageDataset(in: directory, copies: 3)
            let model = try ExtractDatasetTests.resnet(directory)
            func arguments(_ output: URL) -> [String] {
                ["extract"] + model + ["--dataset", images.path, "--layers", "layer3,avgpool", "--pool", "mean",
                                       "--output-dir", output.path, "--rows-per-shard", "3", "--batch-size", "2", "--quiet"]
            }
            let single = directory.appendingPathComponent("single")
            let alone = try PeriscopeProcess.run(arguments(single))
            #expect(alone.status == 0, "\(alone.standardError)")

            // The parts run at the same time, as the pods of an Indexed Job do.
            let parts = (0..<count).map { directory.appendingPathComponent("parts/\($0)") }
            let processes = try parts.enumerated().map { index, part -> ChildProcess in
                let process = ChildProcess()
                process.executableURL = PeriscopeProcess.executable
                process.arguments = arguments(part) + ["--shard-index", String(index), "--shard-count", String(count)]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                return process
            }
            for process in processes {
                process.waitUntilExit()
                #expect(process.terminationStatus == 0, "\(process.arguments)")
            }
            var partShards: [[String]] = []
            for (index, part) in parts.enumerated() {
                let manifest = try ExtractDatasetTests.manifest(part)
                #expect(manifest["split"] as? [String: Int] == ["index": index, "count": count])
                #expect(manifest["complete"] as? Bool == true)
                let shards = try #require(manifest["shards"] as? [[String: Any]])
                partShards.append(shards.compactMap { $0["file"] as? String })
                #expect(((shards.first?["rows"] as? [Int])?.first ?? 0) == 0, "rows count from 0 in a part")
            }
            let expectedFiles = (0..<6).map { String(format: "shard-%05ld.safetensors", $0) }
            #expect(partShards.flatMap { $0 } == expectedFiles, "each index writes its contiguous shards under the single run's names")
            if count == 7 { #expect(partShards.map(\.count) == [0, 1, 1, 1, 1, 1, 1]) }

            // Parts given in reverse order: the merge orders them by index.
            let merged = directory.appendingPathComponent("merged")
            let merge = try PeriscopeProcess.run(["extract-merge"] + parts.reversed().map(\.path) + ["--output-dir", merged.path])
            #expect(merge.status == 0, "\(merge.standardError)")
            #expect(merge.standardOutput == "merged \(count) parts into \(merged.path): 15 rows (1 items skipped) in 6 shards; 6 shard files linked, 0 copied\n")

            let names = try FileManager.default.contentsOfDirectory(atPath: single.path).sorted()
            #expect(names == ["manifest.json"] + expectedFiles)
            #expect(try FileManager.default.contentsOfDirectory(atPath: merged.path).sorted() == names)
            for name in names {
                let expected = try Data(contentsOf: single.appendingPathComponent(name))
                #expect(try Data(contentsOf: merged.appendingPathComponent(name)) == expected, "\(name) differs")
            }

            // The merged directory is a finished single-process extraction, and a merge done twice is done once.
            let again = try PeriscopeProcess.run(arguments(merged))
            #expect(again.standardOutput == "wrote 15 rows (1 items skipped) in 6 shards to \(merged.path): already complete, nothing to do\n",
                    "\(again.standardError)")
            let remerge = try PeriscopeProcess.run(["extract-merge"] + parts.map(\.path) + ["--output-dir", merged.path])
            #expect(remerge.standardOutput.hasSuffix("; already merged, nothing to do\n"), "\(remerge.standardError)")
        }
    }

    @Test func splitOptionsAreCheckedAndAPartDirectoryKeepsItsIndex() async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let images = try ExtractDatasetTests.imageDataset(in: directory)
            let output = directory.appendingPathComponent("part")
            let base = ["extract"] + (try ExtractDatasetTests.resnet(directory))
                + ["--dataset", images.path, "--layers", "fc", "--output-dir", output.path, "--rows-per-shard", "2", "--quiet"]
            for (options, message) in [
                (["--shard-index", "2", "--shard-count", "2"], "option --shard-index: '2' is not an index from 0 to 1 (--shard-count 2)"),
                (["--shard-index", "-1", "--shard-count", "2"], "option --shard-index: '-1' is not an index from 0 to 1 (--shard-count 2)"),
                (["--shard-index", "0", "--shard-count", "0"], "option --shard-count: '0' is not a positive number of processes"),
                (["--shard-index", "one", "--shard-count", "2"], "option --shard-index: 'one' is not an integer"),
                (["--shard-index", "0"], "missing argument: --shard-count N (--shard-index needs the number of processes the dataset is split into)"),
                (["--shard-count", "2"], "missing argument: --shard-index I (--shard-count needs this process's index, 0 to N-1)"),
            ] {
                let run = try PeriscopeProcess.run(base + options)
                #expect(run.status == 1)
                #expect(run.standardError == "periscope: \(message)\n", "\(options)")
            }
            #expect(!FileManager.default.fileExists(atPath: output.path), "nothing is written before the options are valid")

            let first = try PeriscopeProcess.run(base + ["--shard-index", "1", "--shard-count", "2"])
            #expect(first.status == 0, "\(first.standardError)")
            #expect(first.standardOutput.hasPrefix("wrote 1 rows (1 items skipped) in 1 shards to \(output.path): 2 items in "), "\(first.standardOutput)")
            let shards = try #require(try ExtractDatasetTests.manifest(output)["shards"] as? [[String: Any]])
            #expect(shards.map { $0["file"] as? String } == ["shard-00001.safetensors"])
            #expect(shards.map { $0["items"] as? [Int] } == [[2, 4]])
            #expect(shards.map { $0["rows"] as? [Int] } == [[0, 1]])

            let otherIndex = try PeriscopeProcess.run(base + ["--shard-index", "0", "--shard-count", "2"])
            #expect(otherIndex.status == 1)
            #expect(otherIndex.standardError.hasPrefix("periscope: cannot resume the extraction in \(output.path): --shard-index (was 1, now 0) — "),
                    "\(otherIndex.standardError)")
            let unsplit = try PeriscopeProcess.run(base)
            #expect(unsplit.status == 1)
            #expect(unsplit.standardError.hasPrefix("periscope: cannot resume the extraction in \(output.path): --shard-index (was 1, now none); "
                                                    + "--shard-count (was 2, now none) — "), "\(unsplit.standardError)")
        }
    }

    @Test func mergeRefusesPartsThatDoNotFitAndWritesNothing() async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let images = try ExtractDatasetTests.imageDataset(in: directory)
            let model = try ExtractDatasetTests.resnet(directory)
            func extract(_ name: String, _ options: [String]) throws -> URL {
                let output = directory.appendingPathComponent(name)
                let run = try PeriscopeProcess.run(["extract"] + model + ["--dataset", images.path, "--layers", "fc", "--output-dir", output.path,
                                                                          "--rows-per-shard", "1", "--quiet"] + options)
                #expect(run.status == 0, "\(run.standardError)")
                return output
            }
            let part0 = try extract("part0", ["--shard-index", "0", "--shard-count", "2"])
            let part1 = try extract("part1", ["--shard-index", "1", "--shard-count", "2"])
            let pooled = try extract("pooled", ["--shard-index", "1", "--shard-count", "2", "--pool", "max"])
            let ofThree = try extract("of-three", ["--shard-index", "1", "--shard-count", "3"])
            let whole = try extract("whole", [])
            let merged = directory.appendingPathComponent("merged")
            func merge(_ parts: [URL]) throws -> PeriscopeProcess.Outcome {
                try PeriscopeProcess.run(["extract-merge"] + parts.map(\.path) + ["--output-dir", merged.path])
            }
            func expectRefusal(_ parts: [URL], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
                let run = try merge(parts)
                #expect(run.status == 1, sourceLocation: sourceLocation)
                #expect(run.standardError == "periscope: \(message)\n", sourceLocation: sourceLocation)
                #expect(!FileManager.default.fileExists(atPath: merged.path), "nothing written", sourceLocation: sourceLocation)
            }
            try expectRefusal([part0], "--shard-index 1 of --shard-count 2 missing: give the output directory of every index from 0 to 1")
            try expectRefusal([part0, part1, part1], "--shard-index 1 is there twice: \(part1.path) and \(part1.path)")
            try expectRefusal([part0, ofThree], "\(ofThree.path) was extracted with --shard-count 3 but \(part0.path) with --shard-count 2: merge the parts of one split")
            try expectRefusal([part0, pooled], "\(pooled.path) was not extracted like \(part0.path): --pool (was none, now max)"
                              + " — the parts must come from one command that differs only in --shard-index")
            try expectRefusal([part0, whole], "\(whole.path) holds an extraction made without --shard-index/--shard-count: only the parts of a split extraction merge")
            try expectRefusal([part0, directory.appendingPathComponent("nowhere")],
                              "\(directory.appendingPathComponent("nowhere").path) has no manifest.json: give the --output-dir of each `periscope extract … --shard-index I --shard-count N`")
            let none = try merge([])
            #expect(none.standardError == "periscope: missing argument: PART_DIR… (the --output-dir of each --shard-index of the split)\n")

            // A shard changed after it was recorded: its SHA-256 no longer matches.
            let shard = part1.appendingPathComponent("shard-00003.safetensors")
            let original = try Data(contentsOf: shard)
            var changed = original
            changed[changed.count - 1] ^= 1
            try changed.write(to: shard)
            let corrupt = try merge([part0, part1])
            #expect(corrupt.status == 1)
            #expect(corrupt.standardError.hasPrefix("periscope: \(shard.path): expected \(original.count) bytes with SHA-256 "), "\(corrupt.standardError)")
            #expect(corrupt.standardError.hasSuffix("; extract that part again into a new directory\n"))
            #expect(!FileManager.default.fileExists(atPath: merged.path))
            try original.write(to: shard)

            // A part whose run has not finished (its manifest as a crash after its first shard,
            // shard 2, leaves it: that shard's only item is the unreadable image).
            let manifestURL = part1.appendingPathComponent("manifest.json")
            let manifest = try Data(contentsOf: manifestURL)
            var object = try #require(try JSONSerialization.jsonObject(with: manifest) as? [String: Any])
            object["complete"] = false
            object["shards"] = Array(try #require(object["shards"] as? [Any]).prefix(1))
            object["rows"] = 0
            try JSONSerialization.data(withJSONObject: object).write(to: manifestURL)
            try FileManager.default.removeItem(at: part1.appendingPathComponent("shard-00003.safetensors"))
            try expectRefusal([part0, part1], "\(part1.path) (--shard-index 1) is not complete: 1 of its 2 shards are written; rerun its extract command to finish it")
            // Rerun, the index resumes at its next shard and ends as it was.
            let resumed = try PeriscopeProcess.run(["extract"] + model + ["--dataset", images.path, "--layers", "fc", "--output-dir", part1.path,
                                                                          "--rows-per-shard", "1", "--quiet", "--shard-index", "1", "--shard-count", "2"])
            #expect(resumed.standardOutput.hasPrefix("wrote 1 rows (1 items skipped) in 1 shards to \(part1.path), resumed at shard 3: 1 items in "),
                    "\(resumed.standardOutput) \(resumed.standardError)")
            #expect(try Data(contentsOf: manifestURL) == manifest)
            #expect(try Data(contentsOf: shard) == original)

            // An output directory with other files is refused; the merge then succeeds in a new one.
            try FileManager.default.createDirectory(at: merged, withIntermediateDirectories: true)
            try Data("x".utf8).write(to: merged.appendingPathComponent("notes.txt"))
            let occupied = try merge([part0, part1])
            #expect(occupied.standardError.hasPrefix("periscope: output directory \(merged.path) holds other files or another extraction"),
                    "\(occupied.standardError)")
            try FileManager.default.removeItem(at: merged)
            let done = try merge([part1, part0])
            #expect(done.status == 0, "\(done.standardError)")
            #expect(done.standardOutput.hasSuffix("; 3 shard files linked, 0 copied\n"), "\(done.standardOutput)")
            #expect(try Data(contentsOf: merged.appendingPathComponent("manifest.json")) == Data(contentsOf: whole.appendingPathComponent("manifest.json")))

            // Onto another file system (/dev/shm, a tmpfs here) the shards are copied, and checked, instead of linked.
            var here = stat(), shm = stat()
            try #require(stat(directory.path, &here) == 0 && stat("/dev/shm", &shm) == 0 && here.st_dev != shm.st_dev,
                         "this test needs /dev/shm on another file system than \(directory.path)")
            let elsewhere = URL(fileURLWithPath: "/dev/shm/periscope-merge-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: elsewhere) }
            let copied = try PeriscopeProcess.run(["extract-merge", part0.path, part1.path, "--output-dir", elsewhere.path])
            #expect(copied.standardOutput.hasSuffix("; 0 shard files linked, 3 copied\n"), "\(copied.standardError)")
            for name in try FileManager.default.contentsOfDirectory(atPath: whole.path) {
                #expect(try Data(contentsOf: elsewhere.appendingPathComponent(name)) == Data(contentsOf: whole.appendingPathComponent(name)), "\(name)")
            }
        }
    }
}
