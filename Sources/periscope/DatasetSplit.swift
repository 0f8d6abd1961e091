/// One of `count` processes that together extract a dataset (`--shard-index I --shard-count N`),
/// recorded in that process's manifest as `"split": {"count": N, "index": I}`.
///
/// The split is over the shards a single process would write, never inside one: with S shards of
/// `--rows-per-shard` items each (the last may be shorter), index I writes the contiguous shards
/// ⌊I·S/N⌋ ..< ⌊(I+1)·S/N⌋, under the same file names and with the same bytes as the single
/// process. Indices get S/N shards give or take one; an index with none finishes at once with an
/// empty manifest. Merging the N manifests (`periscope extract-merge`, `ExtractionMerge`) then only
/// renumbers rows: its directory equals a single process's, byte for byte.
struct DatasetSplit: Codable, Equatable {
    var index: Int
    var count: Int

    /// The shards index `index` writes, of the `shardCount` shards of a single process.
    func shards(of shardCount: Int) -> Range<Int> {
        (index * shardCount / count)..<((index + 1) * shardCount / count)
    }

    /// `--shard-index I --shard-count N`, both or neither; nil for neither.
    static func parse(_ arguments: inout CommandLineArguments) throws -> DatasetSplit? {
        let index = try arguments.integerOption("shard-index"), count = try arguments.integerOption("shard-count")
        switch (index, count) {
        case (nil, nil):
            return nil
        case (.some, nil):
            throw CommandLineError.missingArgument("--shard-count N (--shard-index needs the number of processes the dataset is split into)")
        case (nil, .some):
            throw CommandLineError.missingArgument("--shard-index I (--shard-count needs this process's index, 0 to N-1)")
        case (let index?, let count?):
            guard count >= 1 else {
                throw CommandLineError.invalidValue(option: "shard-count", value: String(count), expected: "a positive number of processes")
            }
            guard (0..<count).contains(index) else {
                throw CommandLineError.invalidValue(option: "shard-index", value: String(index),
                                                    expected: "an index from 0 to \(count - 1) (--shard-count \(count))")
            }
            return DatasetSplit(index: index, count: count)
        }
    }
}
