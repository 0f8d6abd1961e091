import Synchronization

/// The single-consumer chunk queue behind a streaming body. The producer (the connection, on its
/// event loop) appends; when more than `highWaterMark` bytes wait it pauses reading the socket, and
/// `onDemand` is called when the consumer has drained below half of it (and once at the first read,
/// which is when a `100 Continue` is sent).
final class HTTPBodyStream: Sendable {
    private struct State: ~Copyable {
        var chunks: [[UInt8]] = []
        var head = 0
        var bufferedBytes = 0
        var finished = false
        var failure: (any Error)?
        var waiter: CheckedContinuation<[UInt8]?, any Error>?
        var producerPaused = false
        var demanded = false
    }

    private let state = Mutex(State())
    private let highWaterMark: Int
    private let onDemand: (@Sendable () -> Void)?

    init(highWaterMark: Int, onDemand: (@Sendable () -> Void)?) {
        self.highWaterMark = max(1, highWaterMark)
        self.onDemand = onDemand
    }

    // MARK: - Producer

    /// Appends a chunk; returns true when the producer should pause until `onDemand`.
    func append(_ chunk: [UInt8]) -> Bool {
        guard !chunk.isEmpty else { return false }
        let (waiter, pause): (CheckedContinuation<[UInt8]?, any Error>?, Bool) = state.withLock { state in
            guard !state.finished, state.failure == nil else { return (nil, false) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, false)
            }
            state.chunks.append(chunk)
            state.bufferedBytes += chunk.count
            if state.bufferedBytes > highWaterMark {
                state.producerPaused = true
                return (nil, true)
            }
            return (nil, false)
        }
        waiter?.resume(returning: chunk)
        return pause
    }

    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<[UInt8]?, any Error>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    func fail(_ error: any Error) {
        let waiter = state.withLock { state -> CheckedContinuation<[UInt8]?, any Error>? in
            guard !state.finished, state.failure == nil else { return nil }
            state.failure = error
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: error)
    }

    // MARK: - Consumer

    func next() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8]?, any Error>) in
                enum Outcome { case chunk([UInt8]), end, failure(any Error), wait }
                var notify = false
                let outcome: Outcome = state.withLock { state in
                    if !state.demanded {
                        state.demanded = true
                        notify = true
                    }
                    if state.head < state.chunks.count {
                        let chunk = state.chunks[state.head]
                        state.chunks[state.head] = []
                        state.head += 1
                        if state.head == state.chunks.count {
                            state.chunks.removeAll(keepingCapacity: true)
                            state.head = 0
                        }
                        state.bufferedBytes -= chunk.count
                        if state.producerPaused && state.bufferedBytes <= highWaterMark / 2 {
                            state.producerPaused = false
                            notify = true
                        }
                        return .chunk(chunk)
                    }
                    if let failure = state.failure { return .failure(failure) }
                    if state.finished { return .end }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiter = continuation
                    if state.producerPaused {
                        state.producerPaused = false
                        notify = true
                    }
                    return .wait
                }
                if notify { onDemand?() }
                switch outcome {
                case .chunk(let chunk): continuation.resume(returning: chunk)
                case .end: continuation.resume(returning: nil)
                case .failure(let error): continuation.resume(throwing: error)
                case .wait: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<[UInt8]?, any Error>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
