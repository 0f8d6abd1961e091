import Foundation
import Synchronization

/// The model registry: one SQLite database of models and versions plus the weights files under a
/// model root.
///
/// **Threads.** One connection guarded by a `Mutex`. Registry calls are short (a few indexed
/// statements) and rare next to inference, so serializing them in-process costs nothing that
/// matters, while a single connection keeps the prepared-statement cache and transactions simple.
/// Hashing weights (the only slow part) runs outside the lock. Other *processes* (the CLI while a
/// server runs) share the file through WAL: readers never wait, writers wait in the busy handler,
/// and every multi-statement change runs in `BEGIN IMMEDIATE`, which waits instead of failing.
///
/// **Crash safety.** A file change and its row change cannot be one atomic step, so every file
/// the registry creates or deletes is first written to the `pending_files` journal; opening the
/// registry (`recover()`) finishes or undoes what a killed process left: unlocked temp uploads,
/// uploaded files whose row was never inserted, files of removed versions. Live uploads hold an
/// `flock` on their file, so recovery run by another process never touches them.
public final class ModelRegistry: Sendable {
    /// The database file.
    public let databasePath: String
    /// The directory the weights live in.
    public let modelRoot: ModelRoot
    /// The schema version the database had before this open migrated it (0: new database).
    public let schemaVersionAtOpen: Int

    let connection: Mutex<SQLiteConnection>
    /// A second connection, for reads only. In WAL mode a read never waits for a writer, but a
    /// write waiting for another process's lock (up to the busy timeout) holds `connection`, and
    /// every request looks its model up: reads must not queue behind it.
    private let reader: Mutex<SQLiteConnection>
    /// Faults tests inject into uploads (each fires once).
    let injectedFaults = Mutex<Set<UploadFault>>([])

    /// The schema version this code writes.
    public static var schemaVersion: Int { RegistrySchema.currentVersion }

    /// Opens (creating when missing) the registry database at `databasePath` and the model root at
    /// `modelRoot`, migrates the schema forward, and recovers from any interrupted change.
    /// `busyTimeoutMilliseconds` bounds how long a write waits for another process's write.
    public init(databasePath: String, modelRoot: String, busyTimeoutMilliseconds: Int = 10_000) throws {
        let directory = (databasePath as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileOperations.makeDirectories(directory) }
        self.databasePath = databasePath
        self.modelRoot = try ModelRoot(path: modelRoot)
        let connection = try SQLiteConnection(path: databasePath, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        schemaVersionAtOpen = try RegistrySchema.migrate(connection)
        self.connection = Mutex(connection)
        reader = Mutex(try SQLiteConnection(path: databasePath, busyTimeoutMilliseconds: busyTimeoutMilliseconds))
        let report = try recover()
        recoveryAtOpenStorage.withLock { $0 = report }
    }

    private let recoveryAtOpenStorage = Mutex(RecoveryReport())

    /// What `recover()` did when this registry was opened.
    public var recoveredAtOpen: RecoveryReport { recoveryAtOpenStorage.withLock { $0 } }

    /// Runs `body` with the connection, holding the lock.
    func withConnection<Result: Sendable>(_ body: (SQLiteConnection) throws -> Result) throws -> Result {
        try connection.withLock { connection throws -> Result in try body(connection) }
    }

    /// Runs `body` with the read connection (SELECTs only), holding its lock.
    func withReadConnection<Result: Sendable>(_ body: (SQLiteConnection) throws -> Result) throws -> Result {
        try reader.withLock { connection throws -> Result in try body(connection) }
    }

    // MARK: - Reading

    /// Every model with its versions, by name.
    public func models() throws -> [RegisteredModel] {
        try withReadConnection { connection in
            try connection.readTransaction {
                let models = try connection.query("SELECT id, name, description, default_version, created_at, preload FROM models ORDER BY name")
                return try models.map { try Self.assemble($0, connection) }
            }
        }
    }

    /// The model called `name`.
    public func model(named name: String) throws -> RegisteredModel {
        try ModelName.validate(name)
        return try withReadConnection { connection in
            try connection.readTransaction {
                guard let row = try connection.query(
                    "SELECT id, name, description, default_version, created_at, preload FROM models WHERE name = ?", [.text(name)]).first
                else { throw RegistryError.modelNotFound(name) }
                return try Self.assemble(row, connection)
            }
        }
    }

    /// Version `version` of `name`, or its default version when `version` is `nil`.
    public func version(name: String, version: Int? = nil) throws -> ModelVersion {
        let model = try model(named: name)
        if let version {
            guard let found = model.versions.first(where: { $0.version == version }) else {
                throw RegistryError.versionNotFound(name: name, version: version)
            }
            return found
        }
        guard let found = model.defaultVersion else { throw RegistryError.modelNotFound(name) }
        return found
    }

    static let versionColumns = """
        SELECT m.name, v.version, v.architecture, v.config_json, v.weights_path, v.byte_size, v.sha256,
               v.created_at, v.status, v.status_reason, v.owns_weights_file, v.precision
        FROM model_versions v JOIN models m ON m.id = v.model_id
        """

    static func versionRecord(_ row: SQLiteRow) -> ModelVersion {
        ModelVersion(
            name: row.text(0), version: row.int(1), architecture: row.text(2), configuration: row.text(3),
            weightsPath: row.text(4), byteCount: row.integer(5), sha256: row.text(6), createdAt: date(row.integer(7)),
            status: ModelStatus(name: row.text(8), reason: row.optionalText(9)),
            // The column's CHECK admits only the three names.
            precision: ModelPrecision(rawValue: row.text(11)) ?? .float32, ownsWeightsFile: row.int(10) != 0)
    }

    private static func assemble(_ row: SQLiteRow, _ connection: SQLiteConnection) throws -> RegisteredModel {
        let id = row.integer(0)
        let versions = try connection.query(versionColumns + " WHERE v.model_id = ? ORDER BY v.version", [.integer(id)])
        let labels = try connection.query("SELECT key, value FROM model_labels WHERE model_id = ?", [.integer(id)])
        return RegisteredModel(
            name: row.text(1), description: row.text(2),
            labels: Dictionary(uniqueKeysWithValues: labels.map { ($0.text(0), $0.text(1)) }),
            preload: row.int(5) != 0, pinnedVersion: row.optionalInt(3), createdAt: date(row.integer(4)),
            versions: versions.map(versionRecord))
    }

    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    // MARK: - Changing models

    /// Pins the default version of `name` to `version`, or back to "the latest" with `nil`.
    public func setDefaultVersion(name: String, version: Int?) throws {
        try ModelName.validate(name)
        try withConnection { connection in
            try connection.transaction {
                let id = try Self.modelID(name, connection)
                if let version {
                    let exists = try connection.query("SELECT 1 FROM model_versions WHERE model_id = ? AND version = ?", [.integer(id), .int(version)])
                    guard !exists.isEmpty else { throw RegistryError.versionNotFound(name: name, version: version) }
                }
                try connection.execute("UPDATE models SET default_version = ? WHERE id = ?", [.optionalInteger(version), .integer(id)])
            }
        }
    }

    /// Changes the model's description, labels or preload flag (each `nil` is left as it is).
    public func updateModel(name: String, description: String? = nil, labels: [String: String]? = nil, preload: Bool? = nil) throws {
        try ModelName.validate(name)
        if let labels { try Self.validate(labels: labels) }
        try withConnection { connection in
            try connection.transaction {
                let id = try Self.modelID(name, connection)
                try Self.applyMetadata(id: id, description: description, labels: labels, preload: preload, connection)
            }
        }
    }

    static func modelID(_ name: String, _ connection: SQLiteConnection) throws -> Int64 {
        guard let row = try connection.query("SELECT id FROM models WHERE name = ?", [.text(name)]).first else {
            throw RegistryError.modelNotFound(name)
        }
        return row.integer(0)
    }

    static func applyMetadata(id: Int64, description: String?, labels: [String: String]?, preload: Bool?, _ connection: SQLiteConnection) throws {
        if let description { try connection.execute("UPDATE models SET description = ? WHERE id = ?", [.text(description), .integer(id)]) }
        if let preload { try connection.execute("UPDATE models SET preload = ? WHERE id = ?", [.bool(preload), .integer(id)]) }
        if let labels {
            try connection.execute("DELETE FROM model_labels WHERE model_id = ?", [.integer(id)])
            for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
                try connection.execute("INSERT INTO model_labels (model_id, key, value) VALUES (?, ?, ?)", [.integer(id), .text(key), .text(value)])
            }
        }
    }

    // MARK: - Validation

    /// Checks a registration's name, architecture, configuration (a JSON object) and labels.
    static func validate(_ registration: ModelRegistration) throws {
        try ModelName.validate(registration.name)
        let architecture = registration.architecture
        guard !architecture.isEmpty, architecture.utf8.count <= 64, !architecture.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw RegistryError.invalidConfiguration(name: registration.name, reason: "architecture must be 1 to 64 printable characters, got '\(architecture)'")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(registration.configuration.utf8))
        } catch {
            throw RegistryError.invalidConfiguration(name: registration.name, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard object is [String: Any] else {
            throw RegistryError.invalidConfiguration(name: registration.name, reason: "expected a JSON object")
        }
        if let labels = registration.labels { try validate(labels: labels) }
    }

    static func validate(labels: [String: String]) throws(RegistryError) {
        func printable(_ text: String) -> Bool { !text.unicodeScalars.contains { $0.properties.generalCategory == .control } }
        for (key, value) in labels {
            guard !key.isEmpty, key.utf8.count <= 128, printable(key) else { throw .invalidLabel(key: key, reason: "keys are 1 to 128 printable characters") }
            guard value.utf8.count <= 1024, printable(value) else { throw .invalidLabel(key: key, reason: "values are up to 1024 printable characters") }
        }
    }
}
