import Foundation

/// One dataset extraction job as the registry keeps it: what it asks for (`specification`, the
/// service's own JSON, opaque here), its state, and how far it got.
public struct JobRecord: Sendable, Equatable {
    public var id: String
    public var state: JobState
    /// The job's options as JSON, written and read by the service.
    public var specification: String
    public var modelName: String
    /// The model version the job runs, fixed when it is submitted.
    public var modelVersion: Int
    public var itemsDone: Int
    public var itemsTotal: Int
    /// Items skipped as unreadable so far.
    public var errors: Int
    /// Why the job failed, or what cancelled it.
    public var error: String?
    /// Set by a cancellation the job has not acted on yet; a job found running with it at start
    /// becomes `cancelled` instead of resuming.
    public var cancelRequested: Bool
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?

    public init(id: String, state: JobState, specification: String, modelName: String, modelVersion: Int, itemsDone: Int = 0,
                itemsTotal: Int = 0, errors: Int = 0, error: String? = nil, cancelRequested: Bool = false, createdAt: Date,
                startedAt: Date? = nil, finishedAt: Date? = nil) {
        self.id = id
        self.state = state
        self.specification = specification
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.itemsDone = itemsDone
        self.itemsTotal = itemsTotal
        self.errors = errors
        self.error = error
        self.cancelRequested = cancelRequested
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}
