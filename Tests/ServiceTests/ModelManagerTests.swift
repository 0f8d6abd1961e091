import Configuration
import Foundation
import HTTP
import Testing
#if canImport(Glibc)
import Glibc
#endif
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

    /// A manager over two installed MLPs, both loaded, for the weights-file tests.
    private struct TwoLoadedModels {
        let directory: URL
        let registry: ModelRegistry
        let pool: WorkerPool
        let manager: ModelManager

        init() async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("periscope-weights-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            registry = try ModelRegistry(databasePath: directory.appendingPathComponent("registry.sqlite3").path,
                                         modelRoot: directory.appendingPathComponent("models").path)
            try LiveService.install(.mlp("changed"), in: registry, preload: false)
            try LiveService.install(.mlp("other"), in: registry, preload: false)
            pool = WorkerPool(settings: .init(workers: 1, intraOpThreads: 1, queueCapacity: 4))
            manager = ModelManager(registry: registry, pool: pool, batching: PeriscopeConfiguration().batching,
                                   metrics: ServiceMetrics(includeProcessMetrics: false), logger: .disabled)
            _ = try await manager.servedModel(name: "changed")
            _ = try await manager.servedModel(name: "other")
        }

        var weightsPath: String { registry.modelRoot.absolutePath("changed/model.safetensors") }

        /// Runs `name`'s model once on its default input and returns the output values.
        func run(_ name: String) async throws -> [Float] {
            let model = try await manager.servedModel(name: name)
            return try await pool.run(model: model) { context in
                try context.replica(for: model).forward(inputs: model.defaultInputs).toArray()
            }
        }

        func close() {
            pool.shutdown()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// A weights file truncated, rewritten or deleted under a loaded model: the model keeps running
    /// on the weights it verified (they are read, not mapped: with the file mapped, the truncated
    /// and the rewritten cases computed other values here — a truncated page reads zeros, and
    /// pages wholly past the new end fault with SIGBUS), the check marks that version failed with
    /// the reason, the other version keeps serving, and a load verifies the file again.
    @Test(arguments: ["truncated", "rewritten", "deleted", "replaced"])
    func aWeightsFileChangedUnderALoadedModelFailsThatVersionOnly(_ change: String) async throws {
        let models = try await TwoLoadedModels()
        defer { models.close() }
        let key = ModelKey(name: "changed", version: 1)
        #expect(await models.manager.checkWeightFiles().isEmpty)
        let expected = try await models.run("changed")
        let other = try await models.run("other")

        let path = models.weightsPath
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        switch change {
        case "truncated":
            #expect(truncate(path, 16) == 0)
        case "rewritten":
            // Same size, same inode, other bytes and a later modification time.
            var bytes = original
            bytes[bytes.count - 1] ^= 0xFF
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.write(contentsOf: bytes)
            try handle.close()
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(10)], ofItemAtPath: path)
        case "deleted":
            try FileManager.default.removeItem(atPath: path)
        default:
            let other = path + ".new"
            try original.write(to: URL(fileURLWithPath: other))
            #expect(rename(other, path) == 0)
        }
        // Still the verified weights until the check: no crash, the same values.
        #expect(try await models.run("changed") == expected)

        #expect(await models.manager.checkWeightFiles() == [key])
        #expect(models.manager.phaseName(of: key) == "failed")
        let status = try models.registry.version(name: "changed").status
        #expect(status.name == "failed")
        #expect(status.reason?.contains("weights file changed/model.safetensors") == true)
        await #expect(throws: ServiceError.self) { _ = try await models.run("changed") }
        #expect(try await models.run("other") == other)
        // Checked once: a second pass has nothing left to fail.
        #expect(await models.manager.checkWeightFiles().isEmpty)

        // A load verifies the file again: the original bytes back (a replacement with the same
        // bytes is fine as it is) load and serve; anything else stays failed with the reason.
        if change != "replaced" { try original.write(to: URL(fileURLWithPath: path)) }
        let reloaded = try await models.manager.load(name: "changed")
        #expect(reloaded.status == .ready)
        #expect(try await models.run("changed") == expected)
    }
}

