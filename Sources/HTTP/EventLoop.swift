import CEpoll
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One thread running an epoll loop: descriptor readiness, a cross-thread task inbox woken through
/// an eventfd, and a periodic tick for timeouts. Handlers and everything they own are confined to
/// this thread; other threads reach them only through `execute`.
final class EventLoop: @unchecked Sendable {
    // MARK: - Cross-thread state

    private struct Inbox: ~Copyable {
        var tasks: [@Sendable () -> Void] = []
        /// The loop is (about to be) blocked in epoll_wait and needs an eventfd write to see new tasks.
        var sleeping = false
        /// An eventfd write is already on its way; more would only cost syscalls.
        var wakePending = false
        /// The loop has ended: tasks are dropped (its eventfd is closed, and the number may be reused).
        var stopped = false
    }

    private let inbox = Mutex(Inbox())
    private let epollDescriptor: Int32
    private let wakeDescriptor: Int32
    private let exited = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    /// Names the loop in logs.
    let name: String
    /// `pthread_self()` of the loop's thread once it runs (0 before).
    private let loopThread = Atomic<UInt>(0)

    // MARK: - Loop-thread state

    private struct Registration {
        var handler: EventLoopHandler
        var generation: UInt32
        var events: UInt32
    }

    /// Handlers indexed by descriptor. The generation in each epoll event's data rejects events for
    /// a descriptor that was closed and reused within one batch.
    private var registrations: [Registration?] = []
    private var nextGeneration: UInt32 = 1
    private var running = true
    private let tickInterval: UInt64
    /// Closures to run once the current batch of events has been handled (see `afterEvents`).
    private var afterEventsTasks: [() -> Void] = []
    /// Closures to run at a tick at or after their time (coarse timers; rare events only).
    private var scheduled: [(time: UInt64, task: () -> Void)] = []
    private var thread = pthread_t()

    init(name: String, tickInterval: Duration) throws(SystemCallError) {
        self.name = name
        let nanoseconds = tickInterval.components.seconds * 1_000_000_000 + tickInterval.components.attoseconds / 1_000_000_000
        self.tickInterval = UInt64(max(1_000_000, nanoseconds))
        epollDescriptor = try syscall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }!
        do {
            wakeDescriptor = try syscall("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }!
        } catch {
            close(epollDescriptor)
            throw error
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = UInt64(UInt32(bitPattern: wakeDescriptor))
        do {
            try syscall("epoll_ctl") { epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, wakeDescriptor, &event) }
        } catch {
            close(wakeDescriptor)
            close(epollDescriptor)
            throw error
        }
    }

    // MARK: - Any thread

    /// Starts the loop's thread.
    func start() {
        let box = Unmanaged.passRetained(ThreadBody { [self] in run() }).toOpaque()
        let result = pthread_create(&thread, nil, { argument in
            let body = Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue()
            body.run()
            return nil
        }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
    }

    /// Runs `task` on the loop thread, soon. Wakes the loop only when it is blocked.
    func execute(_ task: @escaping @Sendable () -> Void) {
        let wake = inbox.withLock { inbox -> Bool in
            guard !inbox.stopped else { return false }
            inbox.tasks.append(task)
            guard inbox.sleeping, !inbox.wakePending else { return false }
            inbox.wakePending = true
            return true
        }
        if wake {
            var one: UInt64 = 1
            _ = try? syscall("write") { write(wakeDescriptor, &one, 8) }
        }
    }

    /// Stops the loop after the tasks queued so far; `join()` waits for its thread to end.
    func stop() {
        execute { [self] in running = false }
    }

    /// Waits until the loop's thread has ended.
    func join() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = exited.withLock { state -> Bool in
                if state.done { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        pthread_join(thread, nil)
    }

    // MARK: - Loop thread

    /// Registers `handler` for `descriptor` with the given epoll interest.
    func register(_ descriptor: Int32, handler: EventLoopHandler, events: UInt32) throws(SystemCallError) {
        let index = Int(descriptor)
        if index >= registrations.count {
            registrations.append(contentsOf: repeatElement(nil, count: max(index + 1 - registrations.count, registrations.count)))
        }
        let generation = nextGeneration
        nextGeneration &+= 1
        var event = epoll_event()
        event.events = events
        event.data.u64 = UInt64(UInt32(bitPattern: descriptor)) | UInt64(generation) << 32
        try syscall("epoll_ctl") { epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, descriptor, &event) }
        registrations[index] = Registration(handler: handler, generation: generation, events: events)
    }

    /// Changes the interest of a registered descriptor (no syscall when unchanged).
    func modify(_ descriptor: Int32, events: UInt32) {
        guard let registration = registrations[Int(descriptor)], registration.events != events else { return }
        var event = epoll_event()
        event.events = events
        event.data.u64 = UInt64(UInt32(bitPattern: descriptor)) | UInt64(registration.generation) << 32
        _ = try? syscall("epoll_ctl") { epoll_ctl(epollDescriptor, EPOLL_CTL_MOD, descriptor, &event) }
        registrations[Int(descriptor)]?.events = events
    }

    /// Removes a descriptor (before it is closed).
    func unregister(_ descriptor: Int32) {
        guard Int(descriptor) < registrations.count, registrations[Int(descriptor)] != nil else { return }
        _ = try? syscall("epoll_ctl") { epoll_ctl(epollDescriptor, EPOLL_CTL_DEL, descriptor, nil as UnsafeMutablePointer<epoll_event>?) }
        registrations[Int(descriptor)] = nil
    }

    /// Runs `task` after the events of the current pass have been handled. Handlers are started
    /// this way, so one pass's requests reach the handler threads as one burst (one wake-up)
    /// instead of waking a thread per request.
    func afterEvents(_ task: @escaping () -> Void) {
        afterEventsTasks.append(task)
    }

    /// Runs `task` on this loop at the first tick `delay` nanoseconds from now or later.
    func schedule(after delay: UInt64, _ task: @escaping () -> Void) {
        scheduled.append((monotonicNanoseconds() + delay, task))
    }

    /// Every registered handler (for draining and forced shutdown).
    var handlers: [EventLoopHandler] { registrations.compactMap { $0?.handler } }

    /// Whether the caller runs on this loop's thread.
    var isLoopThread: Bool { loopThread.load(ordering: .relaxed) == UInt(bitPattern: Int(bitPattern: pthread_self())) }

    /// The name of every loop thread (`top -H`, debuggers, and the tests that count the server's threads).
    static let threadName = "http-loop"

    private func run() {
        loopThread.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .relaxed)
        _ = periscope_name_this_thread(EventLoop.threadName)
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        var nextTick = monotonicNanoseconds() + tickInterval
        while running {
            var now = monotonicNanoseconds()
            let timeout = now >= nextTick ? 0 : Int32(min((nextTick - now + 999_999) / 1_000_000, 1000))
            let mayBlock = inbox.withLock { inbox -> Bool in
                guard inbox.tasks.isEmpty else { return false }
                inbox.sleeping = true
                return true
            }
            let count = (try? syscall("epoll_wait") { epoll_wait(epollDescriptor, events, Int32(capacity), mayBlock ? timeout : Int32(0)) }) ?? 0
            let tasks = inbox.withLock { inbox -> [@Sendable () -> Void] in
                inbox.sleeping = false
                inbox.wakePending = false
                return inbox.tasks.isEmpty ? [] : { defer { inbox.tasks = [] }; return inbox.tasks }()
            }
            for i in 0..<Int(count) {
                let data = events[i].data.u64
                let descriptor = Int32(bitPattern: UInt32(truncatingIfNeeded: data))
                if descriptor == wakeDescriptor {
                    var value: UInt64 = 0
                    _ = try? syscall("read") { read(wakeDescriptor, &value, 8) }
                    continue
                }
                guard Int(descriptor) < registrations.count, let registration = registrations[Int(descriptor)],
                      registration.generation == UInt32(truncatingIfNeeded: data >> 32) else { continue }
                registration.handler.handleEvents(events[i].events)
            }
            for task in tasks { task() }
            while !afterEventsTasks.isEmpty {
                let deferred = afterEventsTasks
                afterEventsTasks.removeAll(keepingCapacity: true)
                for task in deferred { task() }
            }
            now = monotonicNanoseconds()
            if now >= nextTick {
                nextTick = now + tickInterval
                for registration in registrations {
                    registration?.handler.tick(now: now)
                }
                if !scheduled.isEmpty {
                    let due = scheduled.filter { $0.time <= now }
                    scheduled.removeAll { $0.time <= now }
                    for entry in due { entry.task() }
                }
            }
        }
        registrations.removeAll()
        inbox.withLock { inbox in
            inbox.stopped = true
            inbox.tasks = []
        }
        close(wakeDescriptor)
        close(epollDescriptor)
        let waiters = exited.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// The closure a loop thread runs, boxed to cross `pthread_create`.
private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Nanoseconds of the monotonic clock.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Nanoseconds in a `Duration` (clamped at zero).
func nanoseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
}

/// IMF-fixdate (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
func httpDate(_ seconds: time_t) -> String {
    var seconds = seconds
    var parts = tm()
    gmtime_r(&seconds, &parts)
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
        + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
}
