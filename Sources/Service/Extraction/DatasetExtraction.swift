import Foundation
import Models
import NN
import Registry
import Tensors

/// Extracts layers over a whole dataset into a directory of safetensors shards and a manifest
/// (`periscope extract … --dataset PATH --output-dir DIR`).
///
/// Shard k covers items k·R ..< (k+1)·R of the dataset (R = `--rows-per-shard`); its rows are
/// those items that could be read, in dataset order. Within a shard, items go to the model in
/// batches of `--batch-size` (texts grouped by length), on one replica of the model, through the
/// same capture and post-processing as the server's features. Each shard is written durably, then the manifest; a rerun of the same
/// command reads the manifest, checks that nothing changed, and continues with the first shard the
/// manifest does not list. Because batches never cross a shard boundary, the resumed run computes
/// exactly what an uninterrupted run would have: the output is byte-identical.
/// With `--shard-index I --shard-count N` it writes only index I's shards (`DatasetSplit`), which
/// `ExtractionMerge` combines with the other indices' into the same output.
public struct DatasetExtraction {
    let model: LoadedModel
    let dataset: Dataset
    /// What this run asks for: model, dataset and options, no shards yet.
    let plan: ExtractionManifest
    let selectors: [LayerSelector]
    let postProcessing: FeaturePostProcessing
    let outputDirectory: String
    /// Whether an unreadable item stops the extraction instead of being skipped.
    let strict: Bool
    let progressStyle: ExtractionProgress.Style
    /// Told of progress and asked before each batch (a service job); nil for the command line.
    public var monitor: (any ExtractionMonitor)?
    /// The feature cache and the model's digest in it: rows whose outputs are cached are not
    /// computed again (`DatasetExtraction+Cache`); nil digest or cache: everything is computed.
    public var cache: FeatureCache?
    public var cacheModelDigest: String?

    /// What a run did.
    public struct Summary {
        public var manifest: ExtractionManifest
        /// The position in `manifest.shards` this run started at (0 for a fresh run).
        public var firstShard: Int
        /// Items this run went through.
        public var items: Int
        public var seconds: Double
        public var itemsPerSecond: Double
        /// Of `items`, those that went through a forward pass (the others were read from the
        /// cache, or skipped).
        public var computedItems: Int
        /// Of `items`, those whose outputs all came from the cache.
        public var cachedItems: Int
    }

    public init(model: LoadedModel, dataset: Dataset, plan: ExtractionManifest, selectors: [LayerSelector],
                postProcessing: FeaturePostProcessing, outputDirectory: String, strict: Bool, progressStyle: ExtractionProgress.Style) {
        self.model = model
        self.dataset = dataset
        self.plan = plan
        self.selectors = selectors
        self.postProcessing = postProcessing
        self.outputDirectory = outputDirectory
        self.strict = strict
        self.progressStyle = progressStyle
    }

    /// Runs (or resumes) the extraction.
    public func run() throws -> Summary {
        try dataset.checkCompatible(with: model)
        let replica = try model.makeReplica()
        let catalog = try replica.traceLayers(inputs: ServedModel.defaultInputs(for: model))
        let request = try model.resolveLayers(selectors, in: catalog)
        let cached = try cachedExtraction(request: request, replica: replica)
        var computedItems = 0, cachedItems = 0
        var manifest = try openDirectory()
        let firstShard = manifest.shards.count
        // All shards, or those of this process's `--shard-index` (`DatasetSplit`).
        let shards = plan.plannedShards, planned = plan.plannedItems
        let itemsBefore = manifest.nextItem
        let progress = ExtractionProgress(style: manifest.complete ? .quiet : progressStyle, total: planned.count,
                                          done: itemsBefore - planned.lowerBound, errors: manifest.skipped.count)
        for shard in (manifest.complete ? shards.upperBound : shards.lowerBound + manifest.shards.count)..<shards.upperBound {
            let items = plan.items(ofShard: shard)
            var builder = ShardBuilder(padsTokenAxis: dataset.kind == .text || dataset.kind == .jsonl)
            var skipped: [SkippedItem] = []
            // Images are read a batch at a time (decoded pixels are large); a shard's texts are
            // tokenized together, so that its batches can group texts of similar length.
            let chunkSize = builder.padsTokenAxis ? max(items.count, 1) : plan.options.batchSize
            for start in stride(from: items.lowerBound, to: items.upperBound, by: chunkSize) {
                let chunk = start..<min(start + chunkSize, items.upperBound)
                let prepared = try dataset.prepare(chunk, batchSize: plan.options.batchSize, for: model, maxLength: plan.options.maxLength)
                if strict, let first = prepared.skipped.first { throw DatasetExtractionError.unreadableItem(first) }
                skipped += prepared.skipped
                progress.advance(items: prepared.skipped.count, errors: prepared.skipped.count)
                monitor?.didAdvance(progress)
                for batch in prepared.batches {
                    try monitor?.willRunBatch()
                    let features: [(name: String, tensor: Tensor)]
                    if let cached {
                        let outcome = try cached.extract(batch) { try extract($0, request: request, replica: replica) }
                        features = outcome.features
                        computedItems += outcome.computedRows
                        cachedItems += batch.positions.count - outcome.computedRows
                    } else {
                        features = try extract(batch.inputs, request: request, replica: replica)
                        computedItems += batch.positions.count
                    }
                    let keepsMask = builder.padsTokenAxis && features.contains { $0.tensor.rank == 3 }
                    try builder.append(positions: batch.positions, ids: batch.positions.map { dataset.items[$0].id },
                                       features: features, attentionMask: keepsMask ? batch.inputs["attention_mask"] : nil)
                    progress.advance(items: batch.positions.count, errors: 0)
                    monitor?.didAdvance(progress)
                }
            }
            try record(builder, shard: shard, items: items, skipped: skipped, complete: shard == shards.upperBound - 1, in: &manifest)
        }
        if !manifest.complete {
            // An empty dataset, or a split index with no shard: nothing recorded marked it complete.
            manifest.complete = true
            try manifest.write(to: outputDirectory)
        }
        progress.finish()
        return Summary(manifest: manifest, firstShard: firstShard, items: manifest.nextItem - itemsBefore,
                       seconds: progress.elapsedSeconds, itemsPerSecond: progress.itemsPerSecond, computedItems: computedItems,
                       cachedItems: cachedItems)
    }

    /// One batch's features, post-processed, in the order the capture produced them.
    func extract(_ inputs: [String: Tensor], request: ResolvedLayers, replica: InferenceModel) throws -> [(name: String, tensor: Tensor)] {
        let captured = try replica.extractFeatures(request, inputs: inputs)
        guard !postProcessing.isIdentity else { return captured.entries }
        return try captured.entries.map { entry -> (name: String, tensor: Tensor) in
            (entry.name, try postProcessing.apply(entry.tensor, layer: entry.name, attentionMask: inputs["attention_mask"]))
        }
    }

    /// Writes shard `shard` (when it has rows), then the manifest that lists it.
    private func record(_ builder: ShardBuilder, shard: Int, items: Range<Int>, skipped: [SkippedItem], complete: Bool,
                        in manifest: inout ExtractionManifest) throws {
        var entry = ExtractionManifest.Shard(file: nil, items: [items.lowerBound, items.upperBound],
                                             rows: [manifest.rows, manifest.rows + builder.rowCount])
        if builder.rowCount > 0 {
            let file = Self.shardFileName(shard)
            let data = try builder.serialize(metadata: [
                "format": ExtractionManifest.currentFormat, "model": plan.model.name, "weights_sha256": plan.model.weightsSHA256,
                "items": "\(items.lowerBound)-\(items.upperBound)",
            ])
            try DurableFile.write(data, to: outputDirectory + "/" + file)
            entry.file = file
            entry.byteCount = data.count
            entry.sha256 = SHA256.hexString(SHA256.hash(data))
            if manifest.outputs.isEmpty { manifest.outputs = builder.tensorNames }
        }
        manifest.shards.append(entry)
        manifest.skipped += skipped
        manifest.rows += builder.rowCount
        manifest.complete = complete
        try manifest.write(to: outputDirectory)
    }

    /// `shard-00042.safetensors`.
    static func shardFileName(_ shard: Int) -> String {
        String(format: "shard-%05ld.safetensors", shard)
    }

    // MARK: - Output directory

    /// The manifest to continue from: the recorded one when the directory holds an extraction
    /// with the same model, dataset and options (cut back to its shards whose files are intact),
    /// else — for a new or empty directory — `plan`, written before any shard.
    private func openDirectory() throws -> ExtractionManifest {
        let contents = try OutputDirectory.open(outputDirectory)
        guard var recorded = try ExtractionManifest.read(from: outputDirectory) else {
            guard contents.isEmpty else { throw DatasetExtractionError.foreignDirectory(path: outputDirectory) }
            try plan.write(to: outputDirectory)
            return plan
        }
        let changes = plan.changes(since: recorded)
        guard changes.isEmpty else { throw DatasetExtractionError.cannotResume(directory: outputDirectory, changes: changes) }
        let intact = recorded.shards.prefix { shard in
            guard let file = shard.file else { return true }
            var info = stat()
            return stat(outputDirectory + "/" + file, &info) == 0 && Int(info.st_size) == shard.byteCount
        }.count
        if intact < recorded.shards.count {
            recorded.shards.removeLast(recorded.shards.count - intact)
            let nextItem = recorded.nextItem
            recorded.skipped.removeAll { $0.index >= nextItem }
            recorded.rows = recorded.shards.last?.rows[1] ?? 0
            recorded.complete = false
            try recorded.write(to: outputDirectory)
        }
        return recorded
    }
}
