import Foundation
import Registry

/// Combines the directories of a split extraction — one per `--shard-index` of `--shard-count N`
/// (`DatasetSplit`) — into one directory equal, byte for byte, to what a single process writes
/// (`periscope extract-merge PART… --output-dir DIR`).
///
/// Every part is checked before anything is written: all N indices present once, each complete,
/// made with the same model, dataset and options (everything but `--shard-index`), its shards
/// exactly those of its index, and every shard file's byte count and SHA-256 as recorded. The
/// shard files, already named and laid out as a single process names them, are hard-linked into
/// the output directory (copied where the file system cannot link, and checked again); the
/// manifest gets the rows renumbered across the parts and no `split`, and is written last: a
/// directory with a manifest is a finished merge, and a merge interrupted before it is rerun.
package struct ExtractionMerge {
    /// The parts' output directories, in any order.
    let parts: [String]
    let outputDirectory: String

    package init(parts: [String], outputDirectory: String) {
        self.parts = parts
        self.outputDirectory = outputDirectory
    }

    /// One part: its directory and manifest.
    struct Part {
        var directory: String
        var manifest: ExtractionManifest
        var split: DatasetSplit { manifest.split! }
    }

    /// What the merge did.
    package struct Summary {
        package var manifest: ExtractionManifest
        package var parts: Int
        /// Shard files hard-linked and copied into the output directory.
        package var linked = 0
        package var copied = 0
        /// True when the output directory already held this merge.
        package var alreadyMerged = false
    }

    package func run() throws -> Summary {
        let parts = try readParts()
        let merged = try combine(parts)
        for part in parts { try verifyFiles(of: part) }
        var summary = Summary(manifest: merged, parts: parts.count)
        if try openOutput(for: merged) {
            summary.alreadyMerged = true
            return summary
        }
        for part in parts {
            for file in part.manifest.shards.compactMap(\.file) {
                let source = part.directory + "/" + file, target = outputDirectory + "/" + file
                if try DurableFile.hardLink(from: source, to: target) {
                    summary.linked += 1
                } else {
                    let shard = part.manifest.shards.first { $0.file == file }!
                    let copy = try DurableFile.copy(from: source, to: target)
                    if let mismatch = Self.mismatch(copy, shard) {
                        try? FileManager.default.removeItem(atPath: target)
                        throw ExtractionMergeError.shardMismatch(path: source, reason: mismatch + " while copying it")
                    }
                    summary.copied += 1
                }
            }
        }
        try merged.write(to: outputDirectory)
        return summary
    }

    // MARK: - Checks

    /// The parts' manifests, in index order; every index of the split exactly once.
    private func readParts() throws -> [Part] {
        guard !parts.isEmpty else {
            throw CommandLineError.missingArgument("PART_DIR… (the --output-dir of each --shard-index of the split)")
        }
        var byIndex: [Int: Part] = [:]
        var first: Part?
        for directory in parts {
            guard let manifest = try ExtractionManifest.read(from: directory) else { throw ExtractionMergeError.notAnExtraction(directory: directory) }
            guard let split = manifest.split else { throw ExtractionMergeError.notAPart(directory: directory) }
            let part = Part(directory: directory, manifest: manifest)
            if let first, first.split.count != split.count {
                throw ExtractionMergeError.countMismatch(directory: directory, count: split.count,
                                                         otherDirectory: first.directory, otherCount: first.split.count)
            }
            if let other = byIndex[split.index] {
                throw ExtractionMergeError.duplicateIndex(index: split.index, directory: other.directory, otherDirectory: directory)
            }
            byIndex[split.index] = part
            first = first ?? part
        }
        let count = first!.split.count
        let missing = (0..<count).filter { byIndex[$0] == nil }
        guard missing.isEmpty else { throw ExtractionMergeError.missingIndices(missing, count: count) }
        return (0..<count).map { byIndex[$0]! }
    }

    /// The manifest of the merged directory, after checking that the parts fit together.
    private func combine(_ parts: [Part]) throws -> ExtractionManifest {
        var merged = parts[0].manifest
        merged.split = nil
        merged.shards = []
        merged.skipped = []
        merged.rows = 0
        merged.outputs = []
        for part in parts {
            var unsplit = part.manifest
            unsplit.split = nil
            let changes = unsplit.changes(since: merged)
            guard changes.isEmpty else {
                throw ExtractionMergeError.differentExtraction(directory: part.directory, reference: parts[0].directory, changes: changes)
            }
            let manifest = part.manifest, planned = manifest.plannedShards
            guard manifest.complete else {
                throw ExtractionMergeError.incomplete(directory: part.directory, index: part.split.index,
                                                      shards: manifest.shards.count, planned: planned.count)
            }
            try checkShards(of: part)
            if !manifest.outputs.isEmpty {
                if merged.outputs.isEmpty {
                    merged.outputs = manifest.outputs
                } else if merged.outputs != manifest.outputs {
                    throw ExtractionMergeError.unexpectedShards(
                        directory: part.directory, index: part.split.index,
                        reason: "its tensors are \(manifest.outputs) where the parts before have \(merged.outputs)")
                }
            }
            for var shard in manifest.shards {
                shard.rows = shard.rows.map { $0 + merged.rows }
                merged.shards.append(shard)
            }
            merged.skipped += manifest.skipped
            merged.rows += manifest.rows
        }
        merged.complete = true
        return merged
    }

    /// Checks that a part lists exactly its index's shards, named as a single process names them,
    /// with rows counted from 0, and skipped items inside its range.
    private func checkShards(of part: Part) throws {
        let manifest = part.manifest
        func fail(_ reason: String) -> ExtractionMergeError {
            .unexpectedShards(directory: part.directory, index: part.split.index, reason: reason)
        }
        let planned = Array(manifest.plannedShards)
        guard manifest.shards.count == planned.count else {
            throw fail("it lists \(manifest.shards.count) shards where its index has \(planned.count)")
        }
        var rows = 0
        for (shard, number) in zip(manifest.shards, planned) {
            let items = manifest.items(ofShard: number)
            guard shard.items == [items.lowerBound, items.upperBound] else {
                throw fail("shard \(number) covers items \(shard.items) where it should cover \([items.lowerBound, items.upperBound])")
            }
            guard shard.rows.count == 2, shard.rows[0] == rows, (0...items.count).contains(shard.rows[1] - rows) else {
                throw fail("shard \(number) has rows \(shard.rows) after \(rows) rows, for \(items.count) items")
            }
            rows = shard.rows[1]
            if let file = shard.file {
                guard file == DatasetExtraction.shardFileName(number), shard.sha256 != nil, shard.byteCount != nil else {
                    throw fail("shard \(number) is '\(file)' with byte_count \(shard.byteCount.map(String.init) ?? "null") and sha256"
                               + " \(shard.sha256 ?? "null"), not \(DatasetExtraction.shardFileName(number)) with both")
                }
            } else if shard.rows[1] > shard.rows[0] {
                throw fail("shard \(number) has rows \(shard.rows) but no file")
            }
        }
        guard manifest.rows == rows else { throw fail("it counts \(manifest.rows) rows where its shards hold \(rows)") }
        let items = manifest.plannedItems
        if let outside = manifest.skipped.first(where: { !items.contains($0.index) }) {
            throw fail("skipped item \(outside.index) is outside its items \(items.lowerBound)..<\(items.upperBound)")
        }
    }

    /// Reads every shard file of a part: byte count and SHA-256 as its manifest records them.
    private func verifyFiles(of part: Part) throws {
        for shard in part.manifest.shards {
            guard let file = shard.file else { continue }
            let path = part.directory + "/" + file
            let digest: (byteCount: Int64, sha256: String)
            do {
                digest = try DurableFile.digest(ofFileAt: path)
            } catch {
                throw ExtractionMergeError.shardMismatch(path: path, reason: "cannot be read (\(error))")
            }
            if let mismatch = Self.mismatch(digest, shard) { throw ExtractionMergeError.shardMismatch(path: path, reason: mismatch) }
        }
    }

    /// How `digest` differs from what `shard` records; nil when it matches.
    private static func mismatch(_ digest: (byteCount: Int64, sha256: String), _ shard: ExtractionManifest.Shard) -> String? {
        guard Int(digest.byteCount) != shard.byteCount || digest.sha256 != shard.sha256 else { return nil }
        return "expected \(shard.byteCount ?? 0) bytes with SHA-256 \(shard.sha256 ?? "?"), found \(digest.byteCount) bytes with SHA-256 \(digest.sha256)"
    }

    // MARK: - Output directory

    /// Makes the output directory ready: new, empty, or left by an interrupted merge of these
    /// parts (its shard files only, which are replaced). True when it already holds `merged`.
    private func openOutput(for merged: ExtractionManifest) throws -> Bool {
        let contents = try OutputDirectory.open(outputDirectory)
        if let recorded = try ExtractionManifest.read(from: outputDirectory) {
            guard recorded == merged else { throw ExtractionMergeError.outputNotEmpty(path: outputDirectory) }
            return true
        }
        let ours = Set(merged.shards.compactMap(\.file))
        guard contents.allSatisfy(ours.contains) else { throw ExtractionMergeError.outputNotEmpty(path: outputDirectory) }
        return false
    }
}
