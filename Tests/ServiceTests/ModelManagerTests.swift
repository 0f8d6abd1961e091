import Configuration
import Foundation
import HTTP
import Testing
@testable import Registry
@testable import Service

@Suite struct ModelManagerTests {
    /// Regression (scripts/faults, database read-only): loading wrote `loading`/`ready` to the
    /// registry and failed the model when that write failed, so a read-only or locked registry
    /// stopped every model from serving. The status record is now best-effort.
    @Test func aRegistryThatCannotBeWrittenStillLetsModelsLoadAndServe() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("periscope-manager-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let databasePath = directory.appendingPathComponent("registry.sqlite3").path
        let registry = try ModelRegistry(databasePath: databasePath, modelRoot: directory.appendingPathComponent("models").path,
                                         busyTimeoutMilliseconds: 20)
        try LiveService.install(.mlp("mlp"), in: registry, preload: false)
        let pool = WorkerPool(settings: .init(workers: 1, intraOpThreads: 1, queueCapacity: 4))
        defer { pool.shutdown() }
        let manager = ModelManager(registry: registry, pool: pool, batching: PeriscopeConfiguration().batching,
                                   metrics: ServiceMetrics(includeProcessMetrics: false), logger: .disabled)

        // Another process's write lock, held for the whole load: every registry write times out.
        let holder = try SQLiteConnection(path: databasePath, busyTimeoutMilliseconds: 20)
        try holder.execute("BEGIN EXCLUSIVE")
        #expect(throws: RegistryError.self) { try registry.setStatus(.loading, name: "mlp", version: 1) }
        let model = try await manager.servedModel(name: "mlp")
        #expect(manager.phaseName(of: ModelKey(name: "mlp", version: 1)) == "ready")
        let output = try await pool.run(model: model) { context in
            try context.replica(for: model).traceLayers(inputs: model.defaultInputs).outputShape
        }
        #expect(output == [1, 4])
        try holder.execute("ROLLBACK")
        // The lost records: the registry still says what it said before the load.
        #expect(try registry.version(name: "mlp").status == .registered)
    }
}
