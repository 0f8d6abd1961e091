// MARK: - Which shards an extraction writes

extension ExtractionManifest {
    /// The shards a single process writes: shard k covers items k·R ..< min((k+1)·R, items)
    /// (R = `--rows-per-shard`).
    var layoutShardCount: Int {
        (input.items + options.rowsPerShard - 1) / options.rowsPerShard
    }

    /// The shards this extraction writes: all of them, or its split's (`DatasetSplit`). Its
    /// `shards` list them in order from the first; their `rows` count from 0 in this directory.
    package var plannedShards: Range<Int> {
        split?.shards(of: layoutShardCount) ?? 0..<layoutShardCount
    }

    /// The items of shard `shard` of the single-process layout.
    func items(ofShard shard: Int) -> Range<Int> {
        (shard * options.rowsPerShard)..<min((shard + 1) * options.rowsPerShard, input.items)
    }

    /// The items of `plannedShards`.
    var plannedItems: Range<Int> {
        let shards = plannedShards
        guard !shards.isEmpty else { return input.items..<input.items }
        return items(ofShard: shards.lowerBound).lowerBound..<items(ofShard: shards.upperBound - 1).upperBound
    }

    /// The first item no recorded shard covers: where a rerun continues.
    var nextItem: Int {
        shards.last?.items[1] ?? plannedItems.lowerBound
    }
}
