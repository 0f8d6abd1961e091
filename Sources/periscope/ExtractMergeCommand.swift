// `periscope extract-merge …`: the parts of a split dataset extraction, combined (ExtractionMerge).

import CommandLineSupport
import Service

/// `extract-merge PART_DIR… --output-dir DIR`: the output directories of `periscope extract …
/// --shard-index I --shard-count N` for every I, in any order, merged into `DIR` as one process
/// would have written it.
enum ExtractMergeCommand {
    static let usage = "extract-merge PART_DIR… --output-dir DIR   (the parts of extract --dataset … --shard-index I --shard-count N)"

    static func run(_ arguments: inout CommandLineArguments) throws {
        guard let outputDirectory = try arguments.option("output-dir") else { throw CommandLineError.missingArgument("--output-dir DIR") }
        var parts: [String] = []
        while let part = arguments.positional() { parts.append(part) }
        try arguments.finish()
        let summary = try ExtractionMerge(parts: parts, outputDirectory: outputDirectory).run()
        print(summaryLine(summary, directory: outputDirectory))
    }

    /// `merged 2 parts into OUT: 243 rows (1 items skipped) in 31 shards; 31 shard files linked, 0 copied`.
    static func summaryLine(_ summary: ExtractionMerge.Summary, directory: String) -> String {
        let manifest = summary.manifest
        let files = manifest.shards.filter { $0.file != nil }.count
        let line = "merged \(summary.parts) parts into \(directory): \(manifest.rows) rows (\(manifest.skipped.count) items skipped) in \(files) shards"
        if summary.alreadyMerged { return line + "; already merged, nothing to do" }
        return line + "; \(summary.linked) shard files linked, \(summary.copied) copied"
    }
}
