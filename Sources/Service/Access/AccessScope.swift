/// What a bearer token may do. Health and metrics endpoints need no scope.
public enum AccessScope: String, Sendable, CaseIterable, Comparable {
    /// Features, attributions, inference, metadata, layers, statistics.
    case infer
    /// Registration, deletion, load/unload, the V2 repository endpoints.
    case admin

    public static func < (lhs: AccessScope, rhs: AccessScope) -> Bool { lhs.rawValue < rhs.rawValue }
}
