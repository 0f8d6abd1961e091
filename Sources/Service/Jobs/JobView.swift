import Foundation
import NN
import Registry

/// A job as `/v1/jobs` answers it (openapi.yaml's `Job`): options, state, progress with rate and
/// ETA, and the error of a failed job.
struct JobView: Encodable {
    struct Model: Encodable {
        var name: String
        var version: Int
    }

    struct Progress: Encodable {
        var itemsDone: Int
        var itemsTotal: Int
        /// Items skipped as unreadable.
        var errors: Int
        /// Items per second of the current run (0 unless running).
        var itemsPerSecond: Double
        /// Seconds left at that rate; absent when unknown.
        var etaSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case errors
            case itemsDone = "items_done"
            case itemsTotal = "items_total"
            case itemsPerSecond = "items_per_second"
            case etaSeconds = "eta_seconds"
        }
    }

    var id: String
    var state: String
    var cancelRequested: Bool
    var model: Model
    var dataset: String
    var outputDirectory: String
    /// Nil only for a record this version cannot read.
    var options: JobSpecification.Options?
    var progress: Progress
    var error: String?
    var createdAt: String
    var startedAt: String?
    var finishedAt: String?

    enum CodingKeys: String, CodingKey {
        case id, state, model, dataset, options, progress, error
        case cancelRequested = "cancel_requested"
        case outputDirectory = "output_dir"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    init(_ record: JobRecord, itemsPerSecond: Double) {
        // The registry holds only specifications the service wrote.
        let specification = (try? JobSpecification.decode(record.specification))
        id = record.id
        state = record.state.rawValue
        cancelRequested = record.cancelRequested
        model = Model(name: record.modelName, version: record.modelVersion)
        dataset = specification?.dataset ?? ""
        outputDirectory = specification?.outputDirectory ?? ""
        options = specification?.options
        let rate = record.state == .running ? itemsPerSecond : 0
        progress = Progress(itemsDone: record.itemsDone, itemsTotal: record.itemsTotal, errors: record.errors, itemsPerSecond: rate,
                            etaSeconds: rate > 0 ? Double(max(0, record.itemsTotal - record.itemsDone)) / rate : nil)
        error = record.error
        createdAt = record.createdAt.formatted(.iso8601)
        startedAt = record.startedAt?.formatted(.iso8601)
        finishedAt = record.finishedAt?.formatted(.iso8601)
    }

    /// The JSON body of one job, or of a list (`{"jobs": [...]}`).
    static func body(_ view: JobView) throws -> [UInt8] { try encode(view) }
    static func body(_ views: [JobView]) throws -> [UInt8] { try encode(["jobs": views]) }

    private static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }
}
