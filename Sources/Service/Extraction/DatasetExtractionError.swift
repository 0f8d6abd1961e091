/// Why `periscope extract --dataset` stopped: each case names the file, item or field at fault and
/// what was expected.
public enum DatasetExtractionError: Error, CustomStringConvertible {
    /// `--output-dir` holds files but no manifest of an extraction.
    case foreignDirectory(path: String)
    /// `manifest.json` exists but is not one this command wrote.
    case unreadableManifest(path: String, reason: String)
    /// The manifest was written with another model, dataset or options.
    case cannotResume(directory: String, changes: [String])
    /// A layer's output has a name a shard uses for its own tensors.
    case reservedName(layer: String)
    /// A layer's output does not have one row per item.
    case notBatchLeading(layer: String, shape: [Int], rows: Int)
    /// Batches of one shard gave a layer shapes that differ beyond the token axis.
    case incompatibleShapes(layer: String, first: [Int], other: [Int])
    /// `--strict`: an item could not be read.
    case unreadableItem(SkippedItem)

    public var description: String {
        switch self {
        case .foreignDirectory(let path):
            "output directory \(path) is not empty and has no manifest.json: give a new or empty directory (or the one of an earlier run to resume it)"
        case .unreadableManifest(let path, let reason):
            "\(path) is not a manifest written by periscope extract (\(reason)); give a new output directory"
        case .cannotResume(let directory, let changes):
            "cannot resume the extraction in \(directory): " + changes.joined(separator: "; ")
                + " — rerun with the same model and options, or give a new output directory"
        case .reservedName(let layer):
            "layer '\(layer)' has the name of a tensor every shard holds (\(ShardBuilder.reservedNames.sorted().joined(separator: ", ")))"
        case .notBatchLeading(let layer, let shape, let rows):
            "layer '\(layer)' has shape \(shape), whose first axis is not the batch of \(rows) items"
        case .incompatibleShapes(let layer, let first, let other):
            "layer '\(layer)' has shape \(first) for some items and \(other) for others, which do not fit in one tensor (pool it with --pool, or preprocess images to one size)"
        case .unreadableItem(let item):
            "item \(item.index) ('\(item.id)') cannot be used: \(item.reason) (--strict)"
        }
    }
}
