/// One SQLite value, bound to a statement parameter or read from a result column.
enum SQLiteValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// `.text(value)`, or `.null` for `nil`.
    static func optionalText(_ value: String?) -> SQLiteValue { value.map { .text($0) } ?? .null }

    /// `.integer(value)`, or `.null` for `nil`.
    static func optionalInteger(_ value: Int?) -> SQLiteValue { value.map { .integer(Int64($0)) } ?? .null }

    /// `.integer(value)` for an `Int`.
    static func int(_ value: Int) -> SQLiteValue { .integer(Int64(value)) }

    /// `.integer(0 or 1)` for a `Bool`.
    static func bool(_ value: Bool) -> SQLiteValue { .integer(value ? 1 : 0) }
}

/// One result row, its columns in `SELECT` order.
struct SQLiteRow: Sendable {
    let values: [SQLiteValue]

    /// Column `index` as an integer; NULL and non-integers are programmer errors in this schema.
    func integer(_ index: Int) -> Int64 {
        switch values[index] {
        case .integer(let value): value
        case .real(let value): Int64(value)
        default: preconditionFailure("column \(index) is not an integer: \(values[index])")
        }
    }

    /// Column `index` as an `Int`.
    func int(_ index: Int) -> Int { Int(integer(index)) }

    /// Column `index` as an integer, `nil` when NULL.
    func optionalInt(_ index: Int) -> Int? {
        if case .null = values[index] { return nil }
        return int(index)
    }

    /// Column `index` as text.
    func text(_ index: Int) -> String {
        guard let value = optionalText(index) else { preconditionFailure("column \(index) is NULL") }
        return value
    }

    /// Column `index` as text, `nil` when NULL.
    func optionalText(_ index: Int) -> String? {
        switch values[index] {
        case .null: nil
        case .text(let value): value
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .blob(let bytes): String(decoding: bytes, as: UTF8.self)
        }
    }
}
