/// Where a dataset extraction job stands. `queued` and `running` are live; the other three are
/// final and never change again.
public enum JobState: String, Sendable, CaseIterable, Codable {
    case queued
    case running
    case succeeded
    case failed
    case cancelled

    /// Whether the job will not change any more.
    public var isFinal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled: true
        }
    }
}
