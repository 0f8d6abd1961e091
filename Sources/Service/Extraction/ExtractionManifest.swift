import Foundation
import Registry

/// `manifest.json` of a dataset extraction: which model and options made the shards, which
/// dataset they cover, each shard with its item and row ranges and SHA-256, and the items that
/// were skipped with the reason. Rewritten durably after every shard, so it always describes
/// complete shards only — what a rerun resumes from. It holds no times: two runs of the same
/// extraction write the same bytes.
public struct ExtractionManifest: Codable, Equatable, Sendable {
    static let currentFormat = "periscope-extract/1"
    static let fileName = "manifest.json"

    /// The dataset, as `Dataset` describes it.
    public struct Input: Codable, Equatable, Sendable {
        public var kind: Dataset.Kind
        public var path: String
        public var items: Int
        public var sha256: String

        public init(kind: Dataset.Kind, path: String, items: Int, sha256: String) {
            self.kind = kind
            self.path = path
            self.items = items
            self.sha256 = sha256
        }
    }

    /// The options that shape the output; any change refuses a resume.
    public struct Options: Codable, Equatable, Sendable {
        /// The layers as requested (names, globs, aliases, indices).
        public var layers: [String]
        public var pool: String
        public var flatten: Bool
        public var normalize: Bool
        public var dtype: String
        public var batchSize: Int
        public var rowsPerShard: Int
        public var maxLength: Int?

        public init(layers: [String], pool: String, flatten: Bool, normalize: Bool, dtype: String, batchSize: Int, rowsPerShard: Int, maxLength: Int?) {
            self.layers = layers
            self.pool = pool
            self.flatten = flatten
            self.normalize = normalize
            self.dtype = dtype
            self.batchSize = batchSize
            self.rowsPerShard = rowsPerShard
            self.maxLength = maxLength
        }

        enum CodingKeys: String, CodingKey {
            case layers, pool, flatten, normalize, dtype
            case batchSize = "batch_size"
            case rowsPerShard = "rows_per_shard"
            case maxLength = "max_length"
        }
    }

    /// One shard: items `items[0]..<items[1]` of the dataset, rows `rows[0]..<rows[1]` of the
    /// output. A shard whose items were all skipped has no file.
    public struct Shard: Codable, Equatable, Sendable {
        public var file: String?
        public var items: [Int]
        public var rows: [Int]
        public var byteCount: Int?
        public var sha256: String?

        enum CodingKeys: String, CodingKey {
            case file, items, rows, sha256
            case byteCount = "byte_count"
        }

        /// Every key written, `null` where there is no file, so readers can test `shard["file"]`.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(file, forKey: .file)
            try container.encode(items, forKey: .items)
            try container.encode(rows, forKey: .rows)
            try container.encode(byteCount, forKey: .byteCount)
            try container.encode(sha256, forKey: .sha256)
        }
    }

    var format = ExtractionManifest.currentFormat
    public var model: ModelIdentity
    public var input: Input
    public var options: Options
    /// Which of several processes wrote this directory (`--shard-index`, `--shard-count`); nil
    /// for a single process and for a merge of all of them.
    public var split: DatasetSplit?
    /// The layers' output tensor names, in the order of the shards' tensors (known after the first batch).
    public var outputs: [String] = []
    public var shards: [Shard] = []
    public var skipped: [SkippedItem] = []
    /// Rows written so far.
    public var rows = 0
    /// True once every shard is written.
    public var complete = false

    public init(model: ModelIdentity, input: Input, options: Options, split: DatasetSplit? = nil) {
        self.model = model
        self.input = input
        self.options = options
        self.split = split
    }

    /// What a rerun asking for `self` changes against `recorded`; empty when it may resume.
    func changes(since recorded: ExtractionManifest) -> [String] {
        var list = ChangeList()
        list.compare("manifest format", was: recorded.format, now: format)
        list.compare("dataset kind", was: recorded.input.kind.rawValue, now: input.kind.rawValue)
        list.compare("dataset items", was: recorded.input.items, now: input.items)
        list.compare("dataset sha256", was: recorded.input.sha256, now: input.sha256)
        list.compare("--layers", was: recorded.options.layers.joined(separator: ","), now: options.layers.joined(separator: ","))
        list.compare("--pool", was: recorded.options.pool, now: options.pool)
        list.compare("--flatten", was: recorded.options.flatten, now: options.flatten)
        list.compare("--normalize", was: recorded.options.normalize, now: options.normalize)
        list.compare("--dtype", was: recorded.options.dtype, now: options.dtype)
        list.compare("--batch-size", was: recorded.options.batchSize, now: options.batchSize)
        list.compare("--rows-per-shard", was: recorded.options.rowsPerShard, now: options.rowsPerShard)
        list.compare("--max-length", was: recorded.options.maxLength, now: options.maxLength)
        list.compare("--shard-index", was: recorded.split?.index, now: split?.index)
        list.compare("--shard-count", was: recorded.split?.count, now: split?.count)
        return model.changes(since: recorded.model) + list.changes
    }

    // MARK: - File

    /// The manifest as JSON: sorted keys, two-space indentation, a final newline.
    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// Writes the manifest durably into `directory`.
    func write(to directory: String) throws {
        try DurableFile.write(encoded(), to: directory + "/" + Self.fileName)
    }

    /// The manifest in `directory`, nil when there is none.
    static func read(from directory: String) throws -> ExtractionManifest? {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(ExtractionManifest.self, from: data)
        } catch {
            throw DatasetExtractionError.unreadableManifest(path: path, reason: "\(error)")
        }
    }
}
