import Foundation
import Testing
@testable import Registry

@Suite struct RegistrySchemaTests {
    @Test func migratesAnEmptyDatabaseToTheCurrentVersion() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        #expect(registry.schemaVersionAtOpen == 0)
        let connection = try SQLiteConnection(path: directory.databasePath, busyTimeoutMilliseconds: 1000)
        #expect(try RegistrySchema.version(connection) == ModelRegistry.schemaVersion)
        let tables = Set(try connection.query("SELECT name FROM sqlite_master WHERE type = 'table'").map { $0.text(0) })
        #expect(tables.isSuperset(of: ["schema_version", "models", "model_versions", "model_labels", "pending_files", "version_sequences", "jobs"]))
        #expect(try connection.query("PRAGMA integrity_check").first?.text(0) == "ok")
        #expect(try connection.query("PRAGMA foreign_key_check").isEmpty)
    }

    @Test func thereAreSeveralMigrations() {
        #expect(ModelRegistry.schemaVersion >= 3)
    }

    /// A database written at every earlier schema version, with data in it, opens, migrates, and
    /// keeps its models; the version counter continues after the existing versions.
    @Test(arguments: 1..<RegistrySchema.currentVersion)
    func migratesFromEveryEarlierVersion(oldVersion: Int) throws {
        let directory = TemporaryDirectory()
        let weights = testBytes(count: 100, seed: 5)
        try directory.write(weights, to: "models/old/3/model.safetensors")
        do {
            try FileManager.default.createDirectory(atPath: directory.modelRoot, withIntermediateDirectories: true)
            let connection = try SQLiteConnection(path: directory.databasePath, busyTimeoutMilliseconds: 1000)
            try RegistrySchema.migrate(connection, to: oldVersion)
            #expect(try RegistrySchema.version(connection) == oldVersion)
            try connection.execute("INSERT INTO models (name, description, default_version, created_at) VALUES ('old', 'from v\(oldVersion)', 3, 1000)")
            try connection.execute(
                """
                INSERT INTO model_versions (model_id, version, architecture, config_json, weights_path, byte_size, sha256, created_at, status)
                VALUES (1, 3, 'mlp', '{"hidden": 4}', 'old/3/model.safetensors', 100, ?, 1000, 'registered')
                """, [.text(hexDigest(weights))])
            if oldVersion >= 2 {
                try connection.execute("UPDATE models SET preload = 1")
                try connection.execute("INSERT INTO model_labels (model_id, key, value) VALUES (1, 'task', 'demo')")
            }
            if oldVersion >= 3 {
                // What the registry writes with a version since schema 3 (the migration seeds it only for older data).
                try connection.execute("INSERT INTO version_sequences (name, last_version) VALUES ('old', 3)")
            }
        }
        let registry = try directory.registry()
        #expect(registry.schemaVersionAtOpen == oldVersion)
        let model = try registry.model(named: "old")
        #expect(model.description == "from v\(oldVersion)")
        #expect(model.pinnedVersion == 3)
        #expect(model.preload == (oldVersion >= 2))
        #expect(model.labels == (oldVersion >= 2 ? ["task": "demo"] : [:]))
        #expect(model.versions.map(\.version) == [3])
        #expect(model.versions[0].configuration == #"{"hidden": 4}"#)
        #expect(model.versions[0].precision == .float32)
        #expect(try registry.verifyWeights(name: "old").version.sha256 == hexDigest(weights))
        try directory.write(weights, to: "models/new.safetensors")
        let next = try registry.register(ModelRegistration(name: "old", architecture: "mlp"), weightsPath: "new.safetensors")
        #expect(next.version == 4)
    }

    @Test func refusesADatabaseFromANewerSchema() throws {
        let directory = TemporaryDirectory()
        _ = try directory.registry()
        do {
            let connection = try SQLiteConnection(path: directory.databasePath, busyTimeoutMilliseconds: 1000)
            try connection.execute("UPDATE schema_version SET version = ?", [.int(ModelRegistry.schemaVersion + 1)])
        }
        #expect(throws: RegistryError.newerSchema(path: directory.databasePath, found: ModelRegistry.schemaVersion + 1, supported: ModelRegistry.schemaVersion)) {
            try directory.registry()
        }
    }

    @Test func reopeningDoesNotMigrateAgain() throws {
        let directory = TemporaryDirectory()
        _ = try directory.registry()
        #expect(try directory.registry().schemaVersionAtOpen == ModelRegistry.schemaVersion)
    }

    @Test func refusesAFileThatIsNotADatabase() throws {
        let directory = TemporaryDirectory()
        try directory.write(Array("not a database, just text that is long enough to fill a header page".utf8), to: "registry.sqlite3")
        #expect {
            try directory.registry()
        } throws: { error in
            if case RegistryError.database(let code, _, _) = error { return code & 0xff == 26 } // SQLITE_NOTADB
            return false
        }
    }
}
