#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Starts the service's own threads (pthreads): the request workers, their deadline sweeper and
/// background lane, and the pre-processing stage's threads. Work on them never occupies Swift's
/// cooperative pool or the HTTP handler threads.
enum DedicatedThread {
    /// Starts a thread running `body`; join it with `pthread_join`.
    static func spawn(name: String, _ body: @escaping () -> Void) -> pthread_t {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(ThreadBody(name: name, body)).toOpaque()
        let result = pthread_create(&thread, nil, { argument in
            let body = Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue()
            body.run()
            return nil
        }, box)
        precondition(result == 0, "\(name): pthread_create failed (\(result))")
        return thread
    }
}

/// The closure a thread runs, boxed to cross `pthread_create`.
private final class ThreadBody {
    /// For debugging (Glibc does not export `pthread_setname_np` to Swift).
    let name: String
    let run: () -> Void

    init(name: String, _ run: @escaping () -> Void) {
        self.name = name
        self.run = run
    }
}
