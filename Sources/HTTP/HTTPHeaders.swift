/// An ordered list of header fields with case-insensitive names (RFC 9110 §5.1). Repeated fields
/// are kept as separate entries in arrival order; `values(for:)` returns all of them and
/// `commaSeparatedValues(for:)` splits list-valued fields.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// One field as received or to be sent.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The fields in order.
    public private(set) var fields: [Field]

    public init() { fields = [] }

    /// Empty, with room for `capacity` fields.
    public init(capacity: Int) {
        fields = []
        fields.reserveCapacity(capacity)
    }

    public init(_ fields: [(String, String)]) {
        self.fields = fields.map { Field(name: $0.0, value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    // MARK: - Lookup

    /// The first value of the field named `name` (case-insensitive), or nil.
    public subscript(name: String) -> String? {
        for field in fields where Self.namesEqual(field.name, name) { return field.value }
        return nil
    }

    /// Every value of the field named `name`, in order.
    public func values(for name: String) -> [String] {
        fields.filter { Self.namesEqual($0.name, name) }.map(\.value)
    }

    /// The elements of a list-valued field (`Connection`, `Transfer-Encoding`, …): every occurrence
    /// split on commas, trimmed, empty elements dropped.
    public func commaSeparatedValues(for name: String) -> [String] {
        var result: [String] = []
        for value in values(for: name) {
            for element in value.split(separator: ",") {
                let trimmed = element.trimmingASCIIWhitespace()
                if !trimmed.isEmpty { result.append(String(trimmed)) }
            }
        }
        return result
    }

    /// Whether a field named `name` is present.
    public func contains(_ name: String) -> Bool {
        fields.contains { Self.namesEqual($0.name, name) }
    }

    // MARK: - Mutation

    /// Appends a field, keeping existing ones with the same name.
    public mutating func add(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Replaces every field named `name` by one with `value`.
    public mutating func replaceOrAdd(name: String, value: String) {
        if let index = fields.firstIndex(where: { Self.namesEqual($0.name, name) }) {
            fields[index].value = value
            var next = index + 1
            while next < fields.count {
                if Self.namesEqual(fields[next].name, name) { fields.remove(at: next) } else { next += 1 }
            }
        } else {
            add(name: name, value: value)
        }
    }

    /// Removes every field named `name`.
    public mutating func remove(name: String) {
        fields.removeAll { Self.namesEqual($0.name, name) }
    }

    // MARK: - Case-insensitive comparison

    /// ASCII case-insensitive equality of two field names, without allocating.
    static func namesEqual(_ lhs: String, _ rhs: String) -> Bool {
        var lhs = lhs, rhs = rhs
        return lhs.withUTF8 { a in
            rhs.withUTF8 { b in
                guard a.count == b.count else { return false }
                for i in 0..<a.count where asciiLower(a[i]) != asciiLower(b[i]) { return false }
                return true
            }
        }
    }
}

extension StringProtocol {
    /// The substring without leading and trailing spaces and tabs.
    func trimmingASCIIWhitespace() -> SubSequence {
        var start = startIndex, end = endIndex
        while start < end, self[start] == " " || self[start] == "\t" { start = index(after: start) }
        while end > start, self[index(before: end)] == " " || self[index(before: end)] == "\t" { end = index(before: end) }
        return self[start..<end]
    }

    /// ASCII case-insensitive equality.
    func equalsCaseInsensitive(_ other: some StringProtocol) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        return zip(utf8, other.utf8).allSatisfy { asciiLower($0) == asciiLower($1) }
    }
}

/// The lowercase of an ASCII letter; other bytes unchanged.
@inline(__always)
func asciiLower(_ byte: UInt8) -> UInt8 {
    (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
}
