import CSQLite
import Foundation

/// One connection to a SQLite database with a cache of prepared statements.
///
/// Not thread-safe by itself: `ModelRegistry` keeps its connection inside a `Mutex`, so the
/// connection is opened with `SQLITE_OPEN_NOMUTEX` and SQLite's own per-call locking is skipped.
/// Every statement is parameterized and prepared once per connection (`statements` is keyed by
/// the SQL text); values never get spliced into SQL.
final class SQLiteConnection {
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    private var inTransaction = false
    /// The database file.
    let path: String

    /// Opens (creating if needed) the database at `path` in WAL mode with foreign keys enforced
    /// and a busy handler that waits up to `busyTimeoutMilliseconds` for another writer.
    init(path: String, busyTimeoutMilliseconds: Int) throws(RegistryError) {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw .database(code: Int(code), message: message, statement: "open \(path)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, Int32(clamping: busyTimeoutMilliseconds))
        do throws(RegistryError) {
            // WAL: readers never block the writer and the writer never blocks readers, so the CLI
            // and a running server share the file; `synchronous=FULL` makes each commit durable
            // (registrations are rare, so the extra fsync costs nothing that matters).
            let mode = try query("PRAGMA journal_mode=WAL").first?.optionalText(0)
            guard mode?.lowercased() == "wal" else {
                throw RegistryError.database(code: 0, message: "could not enable WAL (journal_mode is \(mode ?? "unknown"))", statement: "PRAGMA journal_mode=WAL")
            }
            try execute("PRAGMA synchronous=FULL")
            try execute("PRAGMA foreign_keys=ON")
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    private var closed = false

    private func close() {
        guard !closed else { return }
        closed = true
        for statement in statements.values { sqlite3_finalize(statement) }
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    // MARK: - Statements

    /// Runs `sql` with `parameters` to completion, discarding any rows.
    func execute(_ sql: String, _ parameters: [SQLiteValue] = []) throws(RegistryError) {
        _ = try step(sql, parameters, collect: false)
    }

    /// Runs `sql` with `parameters` and returns every row.
    func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws(RegistryError) -> [SQLiteRow] {
        try step(sql, parameters, collect: true)
    }

    /// How many distinct statements have been prepared (and are cached).
    var cachedStatementCount: Int { statements.count }

    /// The number of rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// Runs DDL scripts (several statements, no parameters) — used only by migrations.
    func executeScript(_ sql: String) throws(RegistryError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        if code != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_free(message)
            throw .database(code: Int(code), message: text, statement: sql)
        }
    }

    private func prepared(_ sql: String) throws(RegistryError) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw error(code, sql) }
        statements[sql] = statement
        return statement
    }

    private func step(_ sql: String, _ parameters: [SQLiteValue], collect: Bool) throws(RegistryError) -> [SQLiteRow] {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        precondition(Int(sqlite3_bind_parameter_count(statement)) == parameters.count, "\(sql): \(parameters.count) parameters bound")
        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(statement, index)
            case .integer(let integer): code = sqlite3_bind_int64(statement, index, integer)
            case .real(let real): code = sqlite3_bind_double(statement, index, real)
            case .text(let text): code = sqlite3_bind_text(statement, index, text, -1, sqliteTransient)
            case .blob(let bytes):
                code = bytes.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), sqliteTransient) }
            }
            guard code == SQLITE_OK else { throw error(code, sql) }
        }
        var rows: [SQLiteRow] = []
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else { throw error(code, sql) }
            if collect { rows.append(row(statement)) }
        }
        return rows
    }

    private func row(_ statement: OpaquePointer) -> SQLiteRow {
        let count = sqlite3_column_count(statement)
        var values: [SQLiteValue] = []
        values.reserveCapacity(Int(count))
        for column in 0..<count {
            switch sqlite3_column_type(statement, column) {
            case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(statement, column)))
            case SQLITE_FLOAT: values.append(.real(sqlite3_column_double(statement, column)))
            case SQLITE_TEXT: values.append(.text(String(cString: sqlite3_column_text(statement, column))))
            case SQLITE_BLOB:
                let length = Int(sqlite3_column_bytes(statement, column))
                let bytes = sqlite3_column_blob(statement, column).map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
                values.append(.blob(bytes))
            default: values.append(.null)
            }
        }
        return SQLiteRow(values: values)
    }

    private func error(_ code: Int32, _ sql: String) -> RegistryError {
        .database(code: Int(code), message: String(cString: sqlite3_errmsg(handle)), statement: sql)
    }

    // MARK: - Transactions

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back when it throws.
    ///
    /// IMMEDIATE takes the write lock up front (waiting in the busy handler), so a transaction
    /// never has to upgrade a read lock — the upgrade is the case where SQLite returns
    /// `SQLITE_BUSY` at once instead of waiting.
    func transaction<Result>(_ body: () throws -> Result) throws -> Result {
        precondition(!inTransaction, "nested registry transaction")
        try execute("BEGIN IMMEDIATE")
        inTransaction = true
        defer { inTransaction = false }
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` inside a read transaction (`BEGIN … COMMIT`), so several SELECTs see one
    /// snapshot even while another connection commits. In WAL mode this never blocks a writer.
    func readTransaction<Result>(_ body: () throws -> Result) throws -> Result {
        precondition(!inTransaction, "nested registry transaction")
        try execute("BEGIN")
        inTransaction = true
        defer { inTransaction = false }
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

/// `SQLITE_TRANSIENT`: SQLite copies bound text and blobs before the bind call returns.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
