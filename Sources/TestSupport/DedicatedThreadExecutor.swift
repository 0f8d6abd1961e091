import Foundation

/// Runs `body` on a thread of its own instead of Swift's cooperative pool, staying in the calling
/// task (so `#expect` and task-locals work as usual).
///
/// Tests that run seconds of synchronous work (forward passes in debug builds, waiting for a
/// child process) would otherwise hold the cooperative pool's few threads and starve the other
/// suites' async tests (the HTTP server tests' timeouts) — the service keeps forward passes off
/// that pool for the same reason.
public func onDedicatedThread<Value>(_ body: () throws -> Value) async throws -> Value {
    try await withTaskExecutorPreference(DedicatedThreadExecutor.shared) { try body() }
}

/// A task executor that runs each job it is given on a new thread.
public final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    public static let shared = DedicatedThreadExecutor()

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let thread = Thread {
            // Its own name, not the one inherited from the thread that enqueued the job (a server's loop).
            try? "test-dedicated".write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
            job.runSynchronously(on: executor)
        }
        thread.stackSize = 16 << 20
        thread.start()
    }
}
