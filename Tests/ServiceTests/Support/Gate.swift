import Dispatch
import Synchronization

/// Holds a worker thread inside a job until the test opens it, and tells the test when a job
/// has entered. The waiting happens on the worker's thread, never on the test's task.
final class Gate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let entries = Atomic<Int>(0)

    /// Called inside a job: records the entry and blocks until `open()`.
    func pass() {
        entries.add(1, ordering: .releasing)
        semaphore.wait()
        semaphore.signal()
    }

    /// Lets every current and future `pass()` through.
    func open() { semaphore.signal() }

    /// Jobs that have entered.
    var entered: Int { entries.load(ordering: .acquiring) }

    /// Waits (without blocking the thread) until `count` jobs have entered.
    func waitUntilEntered(_ count: Int = 1, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while entered < count {
            guard ContinuousClock.now < deadline else { throw GateError.timedOut }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    enum GateError: Error { case timedOut }
}

/// Polls `condition` until it holds (without blocking the thread); false after `timeout`.
func eventually(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

/// A flag set from any thread.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
