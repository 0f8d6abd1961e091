/// The actions a state machine has decided and its connection has not taken yet, first in first
/// out. Each is moved in and moved out, never copied, and the storage is kept for the next ones:
/// a request's few actions cost no allocation and no reference counting.
struct HTTPConnectionActionQueue: ~Copyable {
    private var storage: UnsafeMutablePointer<HTTPConnectionAction>
    private var capacity: Int
    /// Index of the first action (the storage is a ring).
    private var head = 0
    private(set) var count = 0

    init(capacity: Int = 8) {
        self.capacity = max(1, capacity)
        storage = UnsafeMutablePointer<HTTPConnectionAction>.allocate(capacity: self.capacity)
    }

    deinit {
        for offset in 0..<count { (storage + (head + offset) % capacity).deinitialize(count: 1) }
        storage.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    mutating func append(_ action: consuming HTTPConnectionAction) {
        if count == capacity { grow() }
        (storage + (head + count) % capacity).initialize(to: action)
        count += 1
    }

    /// Removes and returns the first action; nil when there is none.
    mutating func popFirst() -> HTTPConnectionAction? {
        guard count > 0 else { return nil }
        let action = (storage + head).move()
        count -= 1
        head = count == 0 ? 0 : (head + 1) % capacity
        return action
    }

    private mutating func grow() {
        let grown = UnsafeMutablePointer<HTTPConnectionAction>.allocate(capacity: capacity * 2)
        for offset in 0..<count { (grown + offset).moveInitialize(from: storage + (head + offset) % capacity, count: 1) }
        storage.deallocate()
        storage = grown
        capacity *= 2
        head = 0
    }
}
