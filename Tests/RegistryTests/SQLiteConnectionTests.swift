import Foundation
import Testing
@testable import Registry

@Suite struct SQLiteConnectionTests {
    @Test func opensInWALModeWithForeignKeys() throws {
        let directory = TemporaryDirectory()
        let connection = try SQLiteConnection(path: directory.databasePath, busyTimeoutMilliseconds: 1000)
        #expect(try connection.query("PRAGMA journal_mode").first?.text(0) == "wal")
        #expect(try connection.query("PRAGMA foreign_keys").first?.int(0) == 1)
        #expect(try connection.query("PRAGMA busy_timeout").first?.int(0) == 1000)
    }

    @Test func bindsEveryValueTypeAsParametersNotSQL() throws {
        let directory = TemporaryDirectory()
        let connection = try SQLiteConnection(path: directory.databasePath, busyTimeoutMilliseconds: 1000)
        try connection.execute("CREATE TABLE t (a, b, c, d, e)")
        let hostile = "x'); DROP TABLE t; --"
        try connection.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [.integer(-7), .real(2.5), .text(hostile), .blob([0, 255]), .null])
        let row = try #require(try connection.query("SELECT a, b, c, d, e FROM t").first)
        #expect(row.values == [.integer(-7), .real(2.5), .text(hostile), .blob([0, 255]), .null])
    }

    @Test func reusesPreparedStatements() throws {
        let directory = TemporaryDirectory()
        let connection = try SQLiteConnection(path: directory.databasePath, busyTimeoutMilliseconds: 1000)
        let before = connection.cachedStatementCount
        try connection.execute("CREATE TABLE t (a)")
        for value in 0..<100 { try connection.execute("INSERT INTO t VALUES (?)", [.int(value)]) }
        #expect(connection.cachedStatementCount == before + 2) // CREATE and INSERT, each prepared once
        #expect(try connection.query("SELECT SUM(a) FROM t").first?.int(0) == 4950)
    }

    @Test func transactionRollsBackWhenTheBodyThrows() throws {
        let directory = TemporaryDirectory()
        let connection = try SQLiteConnection(path: directory.databasePath, busyTimeoutMilliseconds: 1000)
        try connection.execute("CREATE TABLE t (a)")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try connection.transaction {
                try connection.execute("INSERT INTO t VALUES (1)")
                throw Boom()
            }
        }
        #expect(try connection.query("SELECT COUNT(*) FROM t").first?.int(0) == 0)
        try connection.transaction { try connection.execute("INSERT INTO t VALUES (2)") }
        #expect(try connection.query("SELECT COUNT(*) FROM t").first?.int(0) == 1)
    }

    @Test func reportsSQLErrorsWithTheStatement() throws {
        let directory = TemporaryDirectory()
        let connection = try SQLiteConnection(path: directory.databasePath, busyTimeoutMilliseconds: 1000)
        #expect {
            try connection.execute("SELECT * FROM missing_table")
        } throws: { error in
            guard case RegistryError.database(_, let message, let statement) = error else { return false }
            return message.contains("missing_table") && statement == "SELECT * FROM missing_table"
        }
    }
}
