import Foundation
import NN

/// What a dataset extraction job asks for: the options of `periscope extract MODEL --dataset …`,
/// as `POST /v1/jobs` takes them and the registry stores them (this struct's JSON).
///
/// `dataset` and `output_dir` are kept as the client gave them (relative to `jobs.data_root`, or
/// absolute inside it) and resolved again whenever the job starts.
struct JobSpecification: Codable, Equatable, Sendable {
    /// The options that shape the output (the request's other fields), as `GET /v1/jobs/{id}` shows them.
    struct Options: Codable, Equatable, Sendable {
        var layers: [LayerSelector]
        var pool: PoolingMode
        var flatten: Bool
        var normalize: Bool
        var dtype: OutputDType
        var batchSize: Int
        var rowsPerShard: Int
        var maxLength: Int?
        var strict: Bool

        enum CodingKeys: String, CodingKey {
            case layers, pool, flatten, normalize, dtype, strict
            case batchSize = "batch_size"
            case rowsPerShard = "rows_per_shard"
            case maxLength = "max_length"
        }
    }

    var model: String
    /// The version, fixed at submission (the default version then, when the request named none).
    var version: Int
    var dataset: String
    var outputDirectory: String
    var options: Options

    enum CodingKeys: String, CodingKey {
        case model, version, dataset, options
        case outputDirectory = "output_dir"
    }

    static let knownFields = ["model", "version", "dataset", "output_dir", "layers", "pool", "flatten", "normalize", "dtype",
                              "batch_size", "rows_per_shard", "max_length", "strict"]
    /// Defaults, as `periscope extract` has them.
    static let defaultBatchSize = 16
    static let defaultRowsPerShard = 1000
    /// Bounds of the sizes: a batch is the unit an interactive request may wait for.
    static let batchSizes = 1...256
    static let shardSizes = 1...1_000_000

    /// Reads a request body; `version` is filled in by the caller once the model is resolved.
    /// Errors name the field.
    static func parse(_ body: [UInt8]) throws(RequestError) -> (specification: JobSpecification, version: Int?) {
        let document: JSONValue
        do {
            document = try JSONParser.parse(body)
        } catch {
            throw RequestError(error)
        }
        let fields = try FieldReader(document, path: "$")
        try fields.rejectUnknownKeys(knownFields)
        let version = try fields.integer("version")
        if let version, version < 1 { throw RequestError(field: "version", "expected a version number ≥ 1, found \(version)") }
        guard fields.value("layers") != nil else { throw RequestError(field: "layers", "is required") }
        let options = Options(
            layers: try FeaturesRequest.layers(fields.value("layers")), pool: try fields.choice("pool", as: PoolingMode.self) ?? .none,
            flatten: try fields.bool("flatten") ?? false, normalize: try fields.bool("normalize") ?? false,
            dtype: try fields.choice("dtype", as: OutputDType.self) ?? .float32,
            batchSize: try bounded(fields, "batch_size", batchSizes) ?? defaultBatchSize,
            rowsPerShard: try bounded(fields, "rows_per_shard", shardSizes) ?? defaultRowsPerShard,
            maxLength: try bounded(fields, "max_length", 1...Int.max), strict: try fields.bool("strict") ?? false)
        let specification = JobSpecification(model: try fields.requiredString("model"), version: 0, dataset: try fields.requiredString("dataset"),
                                              outputDirectory: try fields.requiredString("output_dir"), options: options)
        return (specification, version)
    }

    private static func bounded(_ fields: FieldReader, _ key: String, _ range: ClosedRange<Int>) throws(RequestError) -> Int? {
        guard let value = try fields.integer(key) else { return nil }
        guard range.contains(value) else {
            let upper = range.upperBound == Int.max ? "" : " and ≤ \(range.upperBound)"
            throw RequestError(field: key, "expected an integer ≥ \(range.lowerBound)\(upper), found \(value)")
        }
        return value
    }

    /// The post-processing the options ask for.
    var postProcessing: FeaturePostProcessing {
        FeaturePostProcessing(pool: options.pool, flatten: options.flatten, normalize: options.normalize, dtype: options.dtype)
    }

    /// The manifest options, exactly as `periscope extract` records them for the same options.
    var manifestOptions: ExtractionManifest.Options {
        ExtractionManifest.Options(layers: options.layers.map(\.description), pool: options.pool.rawValue, flatten: options.flatten,
                                   normalize: options.normalize, dtype: options.dtype.rawValue, batchSize: options.batchSize,
                                   rowsPerShard: options.rowsPerShard, maxLength: options.maxLength)
    }

    /// The stored form.
    func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> JobSpecification {
        try JSONDecoder().decode(JobSpecification.self, from: Data(text.utf8))
    }
}

extension PoolingMode: Codable {}
extension OutputDType: Codable {}
