import Foundation

// MARK: - Dataset extraction jobs

extension ModelRegistry {
    private static let jobColumns = """
        SELECT id, state, specification, model_name, model_version, items_done, items_total, errors, error,
               cancel_requested, created_at, started_at, finished_at
        FROM jobs
        """

    /// Records a new job.
    public func insertJob(_ job: JobRecord) throws {
        try withConnection { connection in
            try connection.execute("""
                INSERT INTO jobs (id, state, specification, model_name, model_version, items_done, items_total, errors, error,
                                  cancel_requested, created_at, started_at, finished_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, Self.jobValues(job))
        }
    }

    /// Stores everything about `job` but its specification, model and creation time, which never change.
    public func updateJob(_ job: JobRecord) throws {
        try withConnection { connection in
            try connection.execute("""
                UPDATE jobs SET state = ?, items_done = ?, items_total = ?, errors = ?, error = ?, cancel_requested = ?,
                                started_at = ?, finished_at = ?
                WHERE id = ?
                """, [.text(job.state.rawValue), .int(job.itemsDone), .int(job.itemsTotal), .int(job.errors), .optionalText(job.error),
                      .bool(job.cancelRequested), .optionalInteger(job.startedAt.map(Self.milliseconds)),
                      .optionalInteger(job.finishedAt.map(Self.milliseconds)), .text(job.id)])
            guard connection.changes == 1 else { throw RegistryError.jobNotFound(job.id) }
        }
    }

    /// The job `id`.
    public func job(id: String) throws -> JobRecord {
        try withReadConnection { connection in
            guard let row = try connection.query(Self.jobColumns + " WHERE id = ?", [.text(id)]).first else {
                throw RegistryError.jobNotFound(id)
            }
            return Self.jobRecord(row)
        }
    }

    /// Every job, oldest first (`states`: only those in these states).
    public func jobs(in states: Set<JobState> = Set(JobState.allCases)) throws -> [JobRecord] {
        try withReadConnection { connection in
            try connection.query(Self.jobColumns + " ORDER BY created_at, id").map(Self.jobRecord).filter { states.contains($0.state) }
        }
    }

    private static func jobValues(_ job: JobRecord) -> [SQLiteValue] {
        [.text(job.id), .text(job.state.rawValue), .text(job.specification), .text(job.modelName), .int(job.modelVersion),
         .int(job.itemsDone), .int(job.itemsTotal), .int(job.errors), .optionalText(job.error), .bool(job.cancelRequested),
         .int(milliseconds(job.createdAt)), .optionalInteger(job.startedAt.map(milliseconds)),
         .optionalInteger(job.finishedAt.map(milliseconds))]
    }

    private static func jobRecord(_ row: SQLiteRow) -> JobRecord {
        JobRecord(id: row.text(0), state: JobState(rawValue: row.text(1)) ?? .failed, specification: row.text(2), modelName: row.text(3),
                  modelVersion: row.int(4), itemsDone: row.int(5), itemsTotal: row.int(6), errors: row.int(7), error: row.optionalText(8),
                  cancelRequested: row.int(9) != 0, createdAt: date(row.integer(10)), startedAt: row.optionalInt(11).map { date(Int64($0)) },
                  finishedAt: row.optionalInt(12).map { date(Int64($0)) })
    }

    private static func milliseconds(_ date: Date) -> Int { Int((date.timeIntervalSince1970 * 1000).rounded()) }
}
