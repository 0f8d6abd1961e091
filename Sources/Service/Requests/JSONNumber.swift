/// One JSON number outside a numeric array: its literal and its decimal value.
public struct JSONNumber: Sendable, Equatable, CustomStringConvertible {
    public var decimal: JSONDecimal
    /// The literal as written.
    public var text: String

    public init(decimal: JSONDecimal, text: String) {
        self.decimal = decimal
        self.text = text
    }

    /// The exact integer value, when the number is an integer that fits in Int.
    public var intValue: Int? { decimal.int64Value.flatMap { Int(exactly: $0) } }
    public var int64Value: Int64? { decimal.int64Value }
    /// The nearest double; nil when out of range.
    public var doubleValue: Double? { decimal.doubleValue { text } }
    /// The nearest float; nil when out of range.
    public var floatValue: Float? { decimal.floatValue { text } }

    public var description: String { text }
}
