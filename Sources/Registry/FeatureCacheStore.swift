import CSQLite
import Foundation
import Synchronization

/// The storage of the feature cache: one SQLite database of byte values under a four-part key,
/// bounded in bytes, evicting the least recently used entries.
///
/// **Its own file.** The cache never shares the registry's database: a cache that fills the disk,
/// gets corrupted or holds a write lock for a large insert can then never lock or damage the
/// registry. It is WAL like the registry, but `synchronous=NORMAL`: a power loss may lose the last
/// few inserts, which a cache can afford, and commits do not wait for an fsync.
///
/// **The bound.** `maxBytes` bounds the sum of the stored values (`bytes` column); eviction runs in
/// the same `BEGIN IMMEDIATE` transaction as the insert that needs the room, so no committed state
/// ever holds more — also with several processes sharing the file. A value larger than the whole
/// bound is not stored. (The file itself is larger than the values by SQLite's page and index
/// overhead.)
///
/// **Recency.** `last_used` is a counter, not a clock: every insert and every hit takes the next
/// value, so the order is exact even for entries touched within one millisecond.
///
/// **A corrupt file** (not a database, or failing `PRAGMA quick_check`) is moved aside to
/// `<path>.corrupt-<unix time>` with its `-wal`/`-shm` files and a new one is created; `recoveredFrom`
/// says where the old one went.
public final class FeatureCacheStore: Sendable {
    /// One entry's key: which model version, which input, which layer, which post-processing.
    public struct Key: Hashable, Sendable {
        public var modelDigest: String
        public var inputSHA256: String
        public var layer: String
        public var processing: String

        public init(modelDigest: String, inputSHA256: String, layer: String, processing: String) {
            self.modelDigest = modelDigest
            self.inputSHA256 = inputSHA256
            self.layer = layer
            self.processing = processing
        }
    }

    /// What an insert did.
    public struct InsertOutcome: Equatable, Sendable {
        /// Entries stored (new or replaced).
        public var stored: Int
        /// Entries evicted to make room.
        public var evicted: Int
        /// Values refused because each alone is larger than `maxBytes`.
        public var tooLarge: Int
    }

    /// The database file.
    public let path: String
    /// The most value bytes the cache holds.
    public let maxBytes: Int
    /// Where a corrupt file found at open was moved; nil when the file was fine or new.
    public let recoveredFrom: String?

    private let connection: Mutex<SQLiteConnection>

    static let schema = """
        CREATE TABLE IF NOT EXISTS entries (
            model_digest TEXT NOT NULL,
            input_sha256 TEXT NOT NULL,
            layer TEXT NOT NULL,
            processing TEXT NOT NULL,
            value BLOB NOT NULL,
            bytes INTEGER NOT NULL,
            last_used INTEGER NOT NULL,
            PRIMARY KEY (model_digest, input_sha256, layer, processing)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS entries_by_use ON entries (last_used);
        """

    /// Opens (creating when missing) the cache at `path`, moving a corrupt file aside first.
    public init(path: String, maxBytes: Int, busyTimeoutMilliseconds: Int = 5_000) throws {
        precondition(maxBytes >= 0, "FeatureCacheStore: negative maxBytes")
        self.path = path
        self.maxBytes = maxBytes
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileOperations.makeDirectories(directory) }
        var movedTo: String?
        let opened: SQLiteConnection
        do {
            opened = try Self.open(path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        } catch let error as RegistryError where Self.isCorruption(error) {
            movedTo = try Self.moveAside(path)
            opened = try Self.open(path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        }
        recoveredFrom = movedTo
        connection = Mutex(opened)
    }

    private static func open(_ path: String, busyTimeoutMilliseconds: Int) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        try connection.execute("PRAGMA synchronous=NORMAL")
        let check = try connection.query("PRAGMA quick_check").first?.optionalText(0) ?? "no answer"
        guard check == "ok" else {
            throw RegistryError.database(code: Int(SQLITE_CORRUPT), message: "quick_check: \(check)", statement: "PRAGMA quick_check")
        }
        try connection.executeScript(schema)
        return connection
    }

    /// Whether `error` says the file is damaged or not a database (rather than, say, unwritable).
    static func isCorruption(_ error: RegistryError) -> Bool {
        guard case .database(let code, _, _) = error else { return false }
        return code & 0xFF == Int(SQLITE_CORRUPT) || code & 0xFF == Int(SQLITE_NOTADB)
    }

    /// Renames `path` and its WAL files to `<path>.corrupt-<seconds>`; returns the new name.
    private static func moveAside(_ path: String) throws -> String {
        let target = path + ".corrupt-\(Int(Date().timeIntervalSince1970))"
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            guard rename(path + suffix, target + suffix) == 0 else { throw RegistryError.io(operation: "rename", path: path + suffix, errno: errno) }
        }
        return target
    }

    // MARK: - Reading

    /// The values stored under `keys` (those present), each marked as used now.
    public func values(for keys: [Key]) throws -> [Key: [UInt8]] {
        guard !keys.isEmpty else { return [:] }
        return try connection.withLock { connection throws -> [Key: [UInt8]] in
            try connection.transaction {
                var found: [Key: [UInt8]] = [:]
                var clock = try Self.lastUse(connection)
                for key in keys where found[key] == nil {
                    let parameters = Self.parameters(key)
                    guard let row = try connection.query(
                        "SELECT value FROM entries WHERE model_digest = ? AND input_sha256 = ? AND layer = ? AND processing = ?",
                        parameters).first, case .blob(let bytes) = row.values[0] else { continue }
                    clock += 1
                    try connection.execute(
                        "UPDATE entries SET last_used = ? WHERE model_digest = ? AND input_sha256 = ? AND layer = ? AND processing = ?",
                        [.int(clock)] + parameters)
                    found[key] = bytes
                }
                return found
            }
        }
    }

    /// Bytes of all stored values.
    public func totalBytes() throws -> Int {
        try connection.withLock { connection throws -> Int in try Self.totalBytes(connection) }
    }

    /// Number of entries.
    public func entryCount() throws -> Int {
        try connection.withLock { connection throws -> Int in try connection.query("SELECT COUNT(*) FROM entries").first?.int(0) ?? 0 }
    }

    /// The stored keys, least recently used first (tests and diagnostics).
    public func keysByRecency() throws -> [Key] {
        try connection.withLock { connection throws -> [Key] in
            try connection.query("SELECT model_digest, input_sha256, layer, processing FROM entries ORDER BY last_used").map {
                Key(modelDigest: $0.text(0), inputSHA256: $0.text(1), layer: $0.text(2), processing: $0.text(3))
            }
        }
    }

    // MARK: - Writing

    /// Stores `entries` (replacing equal keys), first evicting least recently used entries until
    /// they fit under `maxBytes` — all in one transaction. A value larger than `maxBytes` is skipped.
    public func insert(_ entries: [(key: Key, value: [UInt8])]) throws -> InsertOutcome {
        let fitting = entries.filter { $0.value.count <= maxBytes }
        var outcome = InsertOutcome(stored: 0, evicted: 0, tooLarge: entries.count - fitting.count)
        guard !fitting.isEmpty else { return outcome }
        try connection.withLock { connection throws in
            try connection.transaction {
                var clock = try Self.lastUse(connection)
                var total = try Self.totalBytes(connection)
                for (key, value) in fitting {
                    let parameters = Self.parameters(key)
                    // A replaced value's bytes leave the total first.
                    if let old = try connection.query(
                        "SELECT bytes FROM entries WHERE model_digest = ? AND input_sha256 = ? AND layer = ? AND processing = ?",
                        parameters).first {
                        total -= old.int(0)
                        try connection.execute("DELETE FROM entries WHERE model_digest = ? AND input_sha256 = ? AND layer = ? AND processing = ?",
                                               parameters)
                    }
                    while total + value.count > maxBytes {
                        // Oldest first, a few at a time; the loop ends because the value alone fits.
                        let victims = try connection.query(
                            "SELECT model_digest, input_sha256, layer, processing, bytes FROM entries ORDER BY last_used LIMIT 32")
                        guard !victims.isEmpty else { break }
                        for victim in victims where total + value.count > maxBytes {
                            try connection.execute(
                                "DELETE FROM entries WHERE model_digest = ? AND input_sha256 = ? AND layer = ? AND processing = ?",
                                [.text(victim.text(0)), .text(victim.text(1)), .text(victim.text(2)), .text(victim.text(3))])
                            total -= victim.int(4)
                            outcome.evicted += 1
                        }
                    }
                    clock += 1
                    try connection.execute(
                        "INSERT INTO entries (model_digest, input_sha256, layer, processing, value, bytes, last_used) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        parameters + [.blob(value), .int(value.count), .int(clock)])
                    total += value.count
                    outcome.stored += 1
                }
            }
        }
        return outcome
    }

    /// Drops every entry of `modelDigest` (a version removed); returns how many.
    @discardableResult
    public func removeEntries(modelDigest: String) throws -> Int {
        try connection.withLock { connection throws -> Int in
            try connection.execute("DELETE FROM entries WHERE model_digest = ?", [.text(modelDigest)])
            return connection.changes
        }
    }

    // MARK: - Helpers

    private static func parameters(_ key: Key) -> [SQLiteValue] {
        [.text(key.modelDigest), .text(key.inputSHA256), .text(key.layer), .text(key.processing)]
    }

    private static func totalBytes(_ connection: SQLiteConnection) throws -> Int {
        try connection.query("SELECT COALESCE(SUM(bytes), 0) FROM entries").first?.int(0) ?? 0
    }

    private static func lastUse(_ connection: SQLiteConnection) throws -> Int {
        try connection.query("SELECT COALESCE(MAX(last_used), 0) FROM entries").first?.int(0) ?? 0
    }
}
