import Registry

/// One model version: the unit that is loaded, unloaded and served.
public struct ModelKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var name: String
    public var version: Int

    public init(name: String, version: Int) {
        self.name = name
        self.version = version
    }

    public init(_ record: ModelVersion) {
        self.init(name: record.name, version: record.version)
    }

    public var description: String { "\(name)@\(version)" }

    public static func < (lhs: ModelKey, rhs: ModelKey) -> Bool { (lhs.name, lhs.version) < (rhs.name, rhs.version) }
}
