#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import Foundation

/// A persistent pool of threads for intra-op parallelism: `parallelFor` splits a loop over the
/// calling thread and `threadCount - 1` workers.
///
/// Workers spin for a quarter of a millisecond after a job (kernels come in quick succession during
/// a forward pass; at 20 µs, EfficientNet-B0 at batch 1 ran 6 % slower from parked workers), then
/// park on a condition variable so an idle server costs no CPU. On these VMs
/// `DispatchQueue.concurrentPerform` does not run short jobs in parallel, hence our own pool.
///
/// One job runs at a time per pool; each request worker owns its pool (`ThreadPool.current`).
/// A `parallelFor` nested inside a job runs serially on the calling thread.
public final class ThreadPool: @unchecked Sendable {
    /// Threads taking part in a job, the caller included. 1 means serial.
    public let threadCount: Int
    /// How long a worker busy-waits for the next job before it parks.
    public let spinDuration: Duration

    private var workers: [pthread_t] = []
    /// One word for the job's lifecycle, so joining and closing are a single atomic step:
    /// bits 0–31 count workers inside the job, bit 32 says it is open, bits 33… the generation.
    /// The caller waits only for workers that joined; a worker the OS has not scheduled yet finds
    /// the job closed and skips it, so it never stalls the op.
    private let jobState = Atomic<Int>(0)
    private let nextIndex = Atomic<Int>(0)
    private let shuttingDown = Atomic<Bool>(false)
    private static let openBit = 1 << 32
    private static let activeMask = (1 << 32) - 1
    private static func generation(of state: Int) -> Int { state >> 33 }
    private var parkMutex = pthread_mutex_t()
    private var parkCondition = pthread_cond_t()
    private let submissionLock = Mutex<Void>(())

    // The current job. Written by the submitting thread before `generation` is bumped
    // (release) and read by workers after they observe the bump (acquire).
    private var jobBody: ((Int) -> Void)?
    private var jobCount = 0

    private static let insideJob = ThreadLocal<Bool>(default: { false })
    private static let currentPool = ThreadLocal<ThreadPool?>(default: { nil })

    /// The process-wide default pool, sized from the CPU count (`PERISCOPE_INTRA_OP_THREADS` overrides).
    public static let shared: ThreadPool = {
        if let text = getenv("PERISCOPE_INTRA_OP_THREADS").map({ String(cString: $0) }), let count = Int(text), count > 0 {
            return ThreadPool(threadCount: count)
        }
        return ThreadPool(threadCount: ThreadPool.availableProcessorCount)
    }()

    /// The pool kernels use on this thread: the one set by `withCurrent`, else `shared`.
    public static var current: ThreadPool { currentPool.value ?? shared }

    /// Runs `body` with `pool` as this thread's `current` pool.
    public static func withCurrent<Result>(_ pool: ThreadPool, _ body: () throws -> Result) rethrows -> Result {
        try currentPool.withValue(pool, body)
    }

    /// CPUs this process may use: the online CPUs, capped by a cgroup v2 CPU quota
    /// (`/sys/fs/cgroup/cpu.max`, what Kubernetes CPU limits set), rounded up.
    public static var availableProcessorCount: Int {
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        guard let text = try? String(contentsOfFile: "/sys/fs/cgroup/cpu.max", encoding: .utf8) else { return online }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, let quota = Double(fields[0]), let period = Double(fields[1]), period > 0 else { return online }
        return max(1, min(online, Int((quota / period).rounded(.up))))
    }

    /// `spinMicroseconds`: how long an idle worker waits busy before it parks. Long enough to bridge the
    /// gaps between the kernels of a forward pass on a small input (the caller's serial work between two
    /// parallel ops; a parked worker costs a futex wake-up and a reschedule per op), short enough that
    /// an idle server parks at once.
    public init(threadCount: Int, spinMicroseconds: Int = 250) {
        precondition(threadCount >= 1, "ThreadPool: threadCount must be at least 1, got \(threadCount)")
        self.threadCount = threadCount
        self.spinDuration = .microseconds(spinMicroseconds)
        pthread_mutex_init(&parkMutex, nil)
        pthread_cond_init(&parkCondition, nil)
        for _ in 1..<threadCount {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            let result = pthread_create(&thread, nil, { context in
                let pool = Unmanaged<ThreadPool>.fromOpaque(context!).takeRetainedValue()
                pool.workerLoop()
                return nil
            }, context)
            precondition(result == 0, "ThreadPool: pthread_create failed (\(result))")
            workers.append(thread)
        }
    }

    /// Stops and joins the workers. The pool must not be used afterwards.
    public func shutdown() {
        guard !shuttingDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wakeWorkers()
        for thread in workers { pthread_join(thread, nil) }
        workers.removeAll()
    }

    /// Calls `body(i)` for every `i` in `0..<count`, spread over the pool's threads; returns when
    /// all calls have finished. Iterations must be independent.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threadCount == 1 || workers.isEmpty || ThreadPool.insideJob.value {
            for i in 0..<count { body(i) }
            return
        }
        submissionLock.withLock { _ in
            withoutActuallyEscaping(body) { escapingBody in
                jobBody = escapingBody
                jobCount = count
                nextIndex.store(0, ordering: .relaxed)
                let generation = ThreadPool.generation(of: jobState.load(ordering: .relaxed)) + 1
                jobState.store(generation << 33 | ThreadPool.openBit, ordering: .releasing)
                wakeWorkers()
                ThreadPool.insideJob.withValue(true) { runIterations() }
                // Every index is claimed now; close the job and wait for the workers inside it.
                var state = jobState.load(ordering: .relaxed)
                while true {
                    let (exchanged, original) = jobState.compareExchange(
                        expected: state, desired: state & ~ThreadPool.openBit, ordering: .acquiringAndReleasing)
                    if exchanged { break }
                    state = original
                }
                var spins = 0
                while jobState.load(ordering: .acquiring) & ThreadPool.activeMask > 0 {
                    spins += 1
                    if spins > 1_000 { sched_yield() }
                }
                jobBody = nil
            }
        }
    }

    /// Splits `0..<count` into about `threadCount` contiguous chunks and calls `body(range)` for each.
    public func parallelChunks(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let chunks = max(1, min(threadCount, count / max(minimumChunk, 1)))
        if chunks == 1 { body(0..<count); return }
        parallelFor(chunks) { chunk in
            let start = count * chunk / chunks, end = count * (chunk + 1) / chunks
            if start < end { body(start..<end) }
        }
    }

    private func runIterations() {
        guard let body = jobBody else { return }
        let count = jobCount
        while true {
            let index = nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue
            if index >= count { break }
            body(index)
        }
    }

    private func wakeWorkers() {
        pthread_mutex_lock(&parkMutex)
        pthread_cond_broadcast(&parkCondition)
        pthread_mutex_unlock(&parkMutex)
    }

    private func workerLoop() {
        ThreadPool.insideJob.value = true
        var seen = 0
        while true {
            // Spin (the clock read every 256 iterations), then park until a new generation or shutdown.
            let deadline = ContinuousClock.now + spinDuration
            var spins = 0
            while ThreadPool.generation(of: jobState.load(ordering: .acquiring)) == seen && !shuttingDown.load(ordering: .relaxed) {
                spins += 1
                if spins & 255 == 0 && ContinuousClock.now >= deadline {
                    pthread_mutex_lock(&parkMutex)
                    while ThreadPool.generation(of: jobState.load(ordering: .acquiring)) == seen && !shuttingDown.load(ordering: .relaxed) {
                        pthread_cond_wait(&parkCondition, &parkMutex)
                    }
                    pthread_mutex_unlock(&parkMutex)
                    break
                }
            }
            if shuttingDown.load(ordering: .acquiring) { return }
            // Join the job if it is still open; otherwise the caller has finished it without us.
            var state = jobState.load(ordering: .acquiring)
            seen = ThreadPool.generation(of: state)
            while state & ThreadPool.openBit != 0 {
                let (exchanged, original) = jobState.compareExchange(
                    expected: state, desired: state + 1, ordering: .acquiringAndReleasing)
                if exchanged {
                    runIterations()
                    jobState.subtract(1, ordering: .releasing)
                    break
                }
                state = original
                if ThreadPool.generation(of: state) != seen { break }
            }
        }
    }
}
