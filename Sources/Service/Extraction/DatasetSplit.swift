/// One of `count` processes that together extract a dataset (`--shard-index I --shard-count N`),
/// recorded in that process's manifest as `"split": {"count": N, "index": I}`.
///
/// The split is over the shards a single process would write, never inside one: with S shards of
/// `--rows-per-shard` items each (the last may be shorter), index I writes the contiguous shards
/// ⌊I·S/N⌋ ..< ⌊(I+1)·S/N⌋, under the same file names and with the same bytes as the single
/// process. Indices get S/N shards give or take one; an index with none finishes at once with an
/// empty manifest. Merging the N manifests (`periscope extract-merge`, `ExtractionMerge`) then only
/// renumbers rows: its directory equals a single process's, byte for byte.
public struct DatasetSplit: Codable, Equatable, Sendable {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// The shards index `index` writes, of the `shardCount` shards of a single process.
    public func shards(of shardCount: Int) -> Range<Int> {
        (index * shardCount / count)..<((index + 1) * shardCount / count)
    }
}
