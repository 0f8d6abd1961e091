import CommandLineSupport
import Configuration
import Foundation
import Logging
import Models
import NN
import Service

// MARK: - `periscope extract … --dataset PATH --output-dir DIR`

extension ExtractCommand {
    static let datasetUsage = "extract " + ModelSource.usage + " --dataset DIR|TEXTS.txt|TEXTS.jsonl|IN.safetensors --layers L1,L2"
        + " --output-dir DIR [--rows-per-shard N] [--batch-size B] [--pool none|mean|max|cls] [--flatten] [--normalize]"
        + " [--dtype float32|float16] [--max-length N] [--strict] [--quiet] [--progress-interval SECONDS]"
        + " [--shard-index I --shard-count N] [--cache FILE [--cache-max-bytes N]]"

    /// Defaults of the dataset options.
    static let defaultRowsPerShard = 1000
    static let defaultBatchSize = 16

    /// Extracts `--layers` over every item of the dataset at `datasetPath` (`DatasetExtraction`),
    /// resuming the extraction already in `--output-dir` when there is one.
    static func runDataset(_ datasetPath: String, _ arguments: inout CommandLineArguments) throws {
        guard let layerList = try arguments.option("layers") else { throw CommandLineError.missingArgument("--layers L1,L2") }
        guard let outputDirectory = try arguments.option("output-dir") else { throw CommandLineError.missingArgument("--output-dir DIR") }
        let rowsPerShard = try arguments.positiveIntegerOption("rows-per-shard") ?? defaultRowsPerShard
        let batchSize = try arguments.positiveIntegerOption("batch-size") ?? defaultBatchSize
        let maxLength = try arguments.positiveIntegerOption("max-length")
        let pool = try enumOption(&arguments, "pool", PoolingMode.self) ?? PoolingMode.none
        let dtype = try enumOption(&arguments, "dtype", OutputDType.self) ?? .float32
        let flatten = arguments.flag("flatten"), normalize = arguments.flag("normalize")
        let strict = arguments.flag("strict"), quiet = arguments.flag("quiet")
        let intervalText = try arguments.option("progress-interval")
        let interval = try intervalText.map { (text: String) throws -> Double in
            guard let value = Double(text), value > 0, value.isFinite else {
                throw CommandLineError.invalidValue(option: "progress-interval", value: text, expected: "a positive number of seconds")
            }
            return value
        } ?? 5
        let cachePath = try arguments.option("cache")
        let cacheMaxBytes = try arguments.integerOption("cache-max-bytes")
        if let cacheMaxBytes, cacheMaxBytes < 0 {
            throw CommandLineError.invalidValue(option: "cache-max-bytes", value: String(cacheMaxBytes), expected: "a number of bytes ≥ 0")
        }
        if cachePath == nil, cacheMaxBytes != nil { throw CommandLineError.missingArgument("--cache FILE (with --cache-max-bytes)") }
        let split = try DatasetSplit.parse(&arguments)
        let source = try ModelSource.parse(&arguments, requiresWeights: true)
        try arguments.finish()
        let layers = try parseLayers(layerList)

        let dataset = try Dataset.open(datasetPath)
        let (model, identity, cacheDigest) = try source.loadIdentified()
        let options = ExtractionManifest.Options(
            layers: layers.map(\.description), pool: pool.rawValue, flatten: flatten, normalize: normalize, dtype: dtype.rawValue,
            batchSize: batchSize, rowsPerShard: rowsPerShard, maxLength: maxLength)
        let plan = ExtractionManifest(model: identity, input: .init(kind: dataset.kind, path: datasetPath, items: dataset.items.count,
                                                                    sha256: dataset.sha256), options: options, split: split)
        var extraction = DatasetExtraction(
            model: model, dataset: dataset, plan: plan, selectors: layers,
            postProcessing: FeaturePostProcessing(pool: pool, flatten: flatten, normalize: normalize, dtype: dtype),
            outputDirectory: outputDirectory, strict: strict, progressStyle: ExtractionProgress.style(quiet: quiet, interval: interval))
        if let cachePath {
            // An explicit file, not the server's default one: a one-off command should not fill a
            // shared per-user database unasked. A cache that cannot open is logged, not fatal.
            extraction.cache = FeatureCache.open(path: cachePath, maxBytes: cacheMaxBytes ?? PeriscopeConfiguration.Cache().maxBytes,
                                                 metrics: nil, logger: Logger(label: "periscope", minimumLevel: .warning))
            extraction.cacheModelDigest = cacheDigest
        }
        let summary = try extraction.run()
        print(summaryLine(summary, directory: outputDirectory))
    }

    /// `wrote 9998 rows (2 items skipped) in 10 shards to OUT: 10000 items in 117.2 s, 85.3 items/s`.
    static func summaryLine(_ summary: DatasetExtraction.Summary, directory: String) -> String {
        let manifest = summary.manifest
        let files = manifest.shards.filter { $0.file != nil }.count
        var line = "wrote \(manifest.rows) rows (\(manifest.skipped.count) items skipped) in \(files) shards to \(directory)"
        if summary.items == 0 && summary.firstShard == manifest.shards.count {
            return line + ": already complete, nothing to do"
        }
        // The shard's number in the file names: a split index's shards start at its first.
        if summary.firstShard > 0 { line += ", resumed at shard \(manifest.plannedShards.lowerBound + summary.firstShard)" }
        line += String(format: ": %ld items in %.1f s, %.1f items/s", summary.items, summary.seconds, summary.itemsPerSecond)
        if summary.cachedItems > 0 { line += " (\(summary.cachedItems) from the cache, \(summary.computedItems) computed)" }
        return line
    }

    /// `--name VALUE` as one of an enumeration's raw values.
    private static func enumOption<Value: RawRepresentable & CaseIterable>(_ arguments: inout CommandLineArguments, _ name: String,
                                                                          _ type: Value.Type) throws -> Value? where Value.RawValue == String {
        guard let text = try arguments.option(name) else { return nil }
        guard let value = Value(rawValue: text) else {
            throw CommandLineError.invalidValue(option: name, value: text, expected: "one of " + Value.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }
}
