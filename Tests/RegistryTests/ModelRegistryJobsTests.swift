import Foundation
import Testing
@testable import Registry

/// The `jobs` table (schema 5): a job's record round-trips, changes of state and progress are
/// stored, listing is oldest first and filters by state, and the records survive a reopen.
@Suite struct ModelRegistryJobsTests {
    static func record(_ id: String, createdAt seconds: Double) -> JobRecord {
        JobRecord(id: id, state: .queued, specification: #"{"model":"m"}"#, modelName: "m", modelVersion: 2, itemsTotal: 40,
                  createdAt: Date(timeIntervalSince1970: seconds))
    }

    @Test func jobsAreStoredUpdatedListedAndSurviveAReopen() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        try registry.insertJob(Self.record("b", createdAt: 2000))
        try registry.insertJob(Self.record("a", createdAt: 1000))
        #expect(try registry.job(id: "a") == Self.record("a", createdAt: 1000))

        var running = try registry.job(id: "b")
        running.state = .running
        running.itemsDone = 16
        running.errors = 1
        running.cancelRequested = true
        running.startedAt = Date(timeIntervalSince1970: 2001.5)
        try registry.updateJob(running)

        let reopened = try directory.registry()
        #expect(try reopened.job(id: "b") == running)
        #expect(try reopened.jobs().map(\.id) == ["a", "b"])
        #expect(try reopened.jobs(in: [.running]).map(\.id) == ["b"])
        #expect(try reopened.jobs(in: [.succeeded, .failed]).isEmpty)
    }

    @Test func anUnknownJobIsNamed() throws {
        let registry = try TemporaryDirectory().registry()
        #expect(throws: RegistryError.jobNotFound("nope")) { try registry.job(id: "nope") }
        #expect(throws: RegistryError.jobNotFound("nope")) { try registry.updateJob(Self.record("nope", createdAt: 0)) }
        #expect(RegistryError.jobNotFound("nope").description == "unknown job 'nope'")
    }

    @Test func aDuplicateIdIsRefusedAndTheFirstRecordKept() throws {
        let registry = try TemporaryDirectory().registry()
        try registry.insertJob(Self.record("a", createdAt: 1000))
        #expect(throws: RegistryError.self) { try registry.insertJob(Self.record("a", createdAt: 5000)) }
        #expect(try registry.job(id: "a").createdAt == Date(timeIntervalSince1970: 1000))
    }
}
