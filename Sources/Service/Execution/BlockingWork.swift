import Dispatch

/// Runs blocking calls — hashing and reading weights files, building a model, fsync — on Dispatch
/// threads, so that they hold neither Swift's cooperative pool, nor the HTTP handler threads, nor
/// the request workers, and awaits them.
enum BlockingWork {
    private static let queue = DispatchQueue(label: "periscope.blocking", qos: .utility, attributes: .concurrent)

    /// The result of `body`, run on a blocking-work thread.
    static func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
