/// Why `periscope extract-merge` refused to merge: each case names the directory or file at fault
/// and what was expected. Nothing is written to the output directory before every part passed.
enum ExtractionMergeError: Error, CustomStringConvertible {
    /// A directory holds no manifest of `periscope extract`.
    case notAnExtraction(directory: String)
    /// A directory holds an extraction made without `--shard-index`/`--shard-count`.
    case notAPart(directory: String)
    /// Two parts were split into different numbers of processes.
    case countMismatch(directory: String, count: Int, otherDirectory: String, otherCount: Int)
    /// Two directories hold the same index.
    case duplicateIndex(index: Int, directory: String, otherDirectory: String)
    /// Indices of the split that no directory holds.
    case missingIndices([Int], count: Int)
    /// A part was made with another model, dataset or options than part 0.
    case differentExtraction(directory: String, reference: String, changes: [String])
    /// A part's extraction has not finished.
    case incomplete(directory: String, index: Int, shards: Int, planned: Int)
    /// A part's manifest does not list the shards its index writes.
    case unexpectedShards(directory: String, index: Int, reason: String)
    /// A shard file is missing or does not hold what its manifest recorded.
    case shardMismatch(path: String, reason: String)
    /// The output directory holds files that are not this merge's.
    case outputNotEmpty(path: String)

    var description: String {
        switch self {
        case .notAnExtraction(let directory):
            "\(directory) has no manifest.json: give the --output-dir of each `periscope extract … --shard-index I --shard-count N`"
        case .notAPart(let directory):
            "\(directory) holds an extraction made without --shard-index/--shard-count: only the parts of a split extraction merge"
        case .countMismatch(let directory, let count, let otherDirectory, let otherCount):
            "\(directory) was extracted with --shard-count \(count) but \(otherDirectory) with --shard-count \(otherCount): merge the parts of one split"
        case .duplicateIndex(let index, let directory, let otherDirectory):
            "--shard-index \(index) is there twice: \(directory) and \(otherDirectory)"
        case .missingIndices(let indices, let count):
            "--shard-index " + indices.map(String.init).joined(separator: ", ") + " of --shard-count \(count) missing:"
                + " give the output directory of every index from 0 to \(count - 1)"
        case .differentExtraction(let directory, let reference, let changes):
            "\(directory) was not extracted like \(reference): " + changes.joined(separator: "; ")
                + " — the parts must come from one command that differs only in --shard-index"
        case .incomplete(let directory, let index, let shards, let planned):
            "\(directory) (--shard-index \(index)) is not complete: \(shards) of its \(planned) shards are written;"
                + " rerun its extract command to finish it"
        case .unexpectedShards(let directory, let index, let reason):
            "\(directory) (--shard-index \(index)) does not list the shards of its index: \(reason)"
        case .shardMismatch(let path, let reason):
            "\(path): \(reason); extract that part again into a new directory"
        case .outputNotEmpty(let path):
            "output directory \(path) holds other files or another extraction: give a new or empty directory (or the one of an interrupted merge of these parts)"
        }
    }
}
