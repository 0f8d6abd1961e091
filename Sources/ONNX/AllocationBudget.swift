/// The bytes a model read may still allocate: every string, repeated field and tensor the reader
/// builds is charged here first, so a file that declares huge lengths or dims fails with
/// `ONNXError.tooLarge` before anything is allocated. One budget per read; not shared between threads.
final class AllocationBudget {
    /// The configured limit.
    let limit: Int
    /// Bytes charged so far.
    private(set) var used = 0

    init(limit: Int) { self.limit = limit }

    /// Records `bytes` about to be allocated, or throws when they would pass the limit.
    func charge(_ bytes: Int, for what: String) throws {
        let (total, overflow) = used.addingReportingOverflow(bytes)
        guard bytes >= 0, !overflow, total <= limit else {
            throw ONNXError.tooLarge(what: what, bytes: overflow ? Int.max : total, limit: limit)
        }
        used = total
    }
}
