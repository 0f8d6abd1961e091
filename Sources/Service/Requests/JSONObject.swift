/// A JSON object: its members in document order (keys are unique; the parser rejects duplicates).
public struct JSONObject: Sendable {
    public private(set) var members: [(key: String, value: JSONValue)]

    public init(members: [(key: String, value: JSONValue)] = []) { self.members = members }

    public var keys: [String] { members.map(\.key) }
    public var count: Int { members.count }

    /// The value for `key`, or nil.
    public subscript(key: String) -> JSONValue? {
        for member in members where member.key == key { return member.value }
        return nil
    }

    mutating func append(key: String, value: JSONValue) {
        members.append((key, value))
    }
}
