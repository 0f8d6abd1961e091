import CEpoll
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The task executor that request handlers run on: a few dedicated threads sharing one job queue.
///
/// Swift's global executor wakes a sleeping thread (a futex round trip) for nearly every job
/// when jobs are short, which costs more than a whole `GET /healthz`. Here a thread is woken only
/// when none is awake yet for the queued work, so a burst of requests from one event-loop pass
/// costs one wake-up. (Workers do not spin before sleeping: measured here it saved no CPU per
/// request, and spinning would take CPU from the inference workers.) Handlers are still ordinary
/// Swift tasks (`Task(executorPreference:)`): they
/// suspend, await continuations resumed on other threads, and call actors as usual.
///
/// Executors are shared per thread count and live for the process: a task may be resumed long
/// after its server stopped (a job finishing late) and must still find threads to run on.
final class HandlerExecutor: TaskExecutor, @unchecked Sendable {
    private static let executors = Mutex<[Int: HandlerExecutor]>([:])

    /// The process-wide executor with `threads` threads.
    static func shared(threads: Int) -> HandlerExecutor {
        executors.withLock { executors in
            if let executor = executors[threads] { return executor }
            let executor = HandlerExecutor(threads: threads)
            executors[threads] = executor
            return executor
        }
    }

    // pthread mutex + condition: the queue is shared by the loops (producers) and the workers.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var sleeping = 0
    private var wakesInFlight = 0
    private var threads: [pthread_t] = []

    private init(threads count: Int) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        jobs.reserveCapacity(256)
        for _ in 0..<max(1, count) {
            var thread = pthread_t()
            let box = Unmanaged.passRetained(WorkerBody { [self] in work() }).toOpaque()
            let result = pthread_create(&thread, nil, { argument in
                Unmanaged<WorkerBody>.fromOpaque(argument!).takeRetainedValue().run()
                return nil
            }, box)
            precondition(result == 0, "pthread_create failed: \(result)")
            threads.append(thread)
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pthread_mutex_lock(mutex)
        jobs.append(job)
        let wake = sleeping > wakesInFlight
        if wake { wakesInFlight += 1 }
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(condition) }
    }

    /// The name of every worker thread (`top -H`, debuggers, and the tests that count the server's threads).
    static let threadName = "http-handler"

    private func work() {
        _ = periscope_name_this_thread(HandlerExecutor.threadName)
        pthread_mutex_lock(mutex)
        while true {
            if head < jobs.count {
                let job = jobs[head]
                head += 1
                if head == jobs.count {
                    jobs.removeAll(keepingCapacity: true)
                    head = 0
                }
                // More work queued than awake threads: wake another one for it.
                let wake = head < jobs.count && sleeping > wakesInFlight
                if wake { wakesInFlight += 1 }
                pthread_mutex_unlock(mutex)
                if wake { pthread_cond_signal(condition) }
                job.runSynchronously(on: asUnownedTaskExecutor())
                pthread_mutex_lock(mutex)
            } else {
                sleeping += 1
                pthread_cond_wait(condition, mutex)
                sleeping -= 1
                if wakesInFlight > 0 { wakesInFlight -= 1 }
            }
        }
    }
}

/// The closure a worker thread runs, boxed to cross `pthread_create`.
private final class WorkerBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
