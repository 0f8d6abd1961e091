#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A pthread mutex with condition variables whose timed waits use the monotonic clock: what the
/// worker pool's queue needs and `Synchronization.Mutex` lacks (a thread that sleeps until work
/// arrives or a deadline passes).
///
/// `@unchecked Sendable`: the pthread objects are shared by design and only touched through
/// pthread calls, which synchronize.
final class ConditionLock: @unchecked Sendable {
    /// A condition variable bound to this lock's mutex (timed waits on CLOCK_MONOTONIC).
    final class Condition: @unchecked Sendable {
        fileprivate let pointer = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

        fileprivate init() {
            var attributes = pthread_condattr_t()
            pthread_condattr_init(&attributes)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
            pthread_cond_init(pointer, &attributes)
            pthread_condattr_destroy(&attributes)
        }

        deinit {
            pthread_cond_destroy(pointer)
            pointer.deallocate()
        }

        /// Wakes one waiter.
        func signal() { pthread_cond_signal(pointer) }

        /// Wakes every waiter.
        func broadcast() { pthread_cond_broadcast(pointer) }
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// A new condition variable to wait on with this lock held.
    func makeCondition() -> Condition { Condition() }

    func lock() { pthread_mutex_lock(mutex) }

    func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` with the mutex held.
    func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for `condition` (the mutex must be held; it is released while waiting).
    func wait(_ condition: Condition) {
        pthread_cond_wait(condition.pointer, mutex)
    }

    /// Waits for `condition` until `deadline` at the latest (the mutex must be held).
    func wait(_ condition: Condition, until deadline: ContinuousClock.Instant) {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { return }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let (seconds, attoseconds) = remaining.components
        var nanoseconds = Int64(now.tv_nsec) + attoseconds / 1_000_000_000
        var wholeSeconds = Int64(now.tv_sec) + seconds
        wholeSeconds += nanoseconds / 1_000_000_000
        nanoseconds %= 1_000_000_000
        var target = timespec(tv_sec: Int(wholeSeconds), tv_nsec: Int(nanoseconds))
        pthread_cond_timedwait(condition.pointer, mutex, &target)
    }
}
