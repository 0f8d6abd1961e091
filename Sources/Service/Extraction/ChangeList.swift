/// The fields that differ between what was recorded and what is asked now, each as
/// `field (was …, now …)`: what a refusal to resume says.
struct ChangeList {
    private(set) var changes: [String] = []

    /// Notes `field` when `was` and `now` differ.
    mutating func compare(_ field: String, was: String, now: String) {
        if was != now { changes.append("\(field) (was \(was), now \(now))") }
    }

    /// Notes `field` when `was` and `now` differ; nil reads `none`.
    mutating func compare<Value: CustomStringConvertible & Equatable>(_ field: String, was: Value?, now: Value?) {
        if was != now { changes.append("\(field) (was \(was?.description ?? "none"), now \(now?.description ?? "none"))") }
    }
}
