/// Something registered with an `EventLoop` for one descriptor. All calls happen on the loop's thread.
protocol EventLoopHandler: AnyObject {
    /// Readiness events (`EPOLLIN`, `EPOLLOUT`, `EPOLLRDHUP`, `EPOLLHUP`, `EPOLLERR`) for the descriptor.
    func handleEvents(_ events: UInt32)
    /// Called every tick with the monotonic time in nanoseconds, to enforce timeouts.
    func tick(now: UInt64)
    /// The server has started draining: stop accepting / close if idle.
    func beginDrain()
    /// The drain timeout has passed: close now.
    func forceClose()
}
