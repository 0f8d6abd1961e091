/// The bytes a connection has read and not yet parsed: one growable block of raw memory that the
/// socket is read into directly, with the unparsed bytes between `start` and `end`.
///
/// No I/O: the connection reads into `reserveSpace()` and reports the count with `commit(_:)`.
/// The parser consumes from the front; the block is compacted when its end is reached and grows
/// (doubling) up to a limit, so a head at the size limit always fits.
struct HTTPInputBuffer: ~Copyable {
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private let capacityLimit: Int
    private var start = 0
    private var end = 0

    init(initialCapacity: Int = 4096, capacityLimit: Int) {
        capacity = min(initialCapacity, max(1, capacityLimit))
        self.capacityLimit = max(capacity, capacityLimit)
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        storage.deallocate()
    }

    /// Unparsed bytes.
    var count: Int { end - start }
    var isEmpty: Bool { start == end }

    /// The unparsed bytes; valid until the next mutating call.
    var readable: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage + start, count: end - start)
    }

    /// Room to read into after the unparsed bytes, compacting or growing the block when its end is
    /// reached; nil when it is full at its limit. Valid until the next mutating call.
    mutating func reserveSpace() -> UnsafeMutableRawBufferPointer? {
        if end == capacity {
            if start > 0 {
                compact()
            } else if capacity < capacityLimit {
                grow()
            } else {
                return nil
            }
        }
        return UnsafeMutableRawBufferPointer(start: storage + end, count: capacity - end)
    }

    /// `count` bytes were read into the space `reserveSpace()` returned.
    mutating func commit(_ count: Int) {
        precondition(count >= 0 && count <= capacity - end, "committed \(count) bytes into \(capacity - end) of space")
        end += count
    }

    /// The first `count` unparsed bytes are done with. An empty buffer starts over at its beginning.
    mutating func consume(_ count: Int) {
        precondition(count >= 0 && count <= end - start, "consumed \(count) of \(end - start) bytes")
        start += count
        if start == end { removeAll() }
    }

    /// Drops every unparsed byte.
    mutating func removeAll() {
        start = 0
        end = 0
    }

    private mutating func compact() {
        let live = end - start
        if live > 0 { storage.copyMemory(from: storage + start, byteCount: live) }
        start = 0
        end = live
    }

    private mutating func grow() {
        let grownCapacity = min(capacity * 2, capacityLimit)
        let grown = UnsafeMutableRawPointer.allocate(byteCount: grownCapacity, alignment: 16)
        grown.copyMemory(from: storage + start, byteCount: end - start)
        storage.deallocate()
        storage = grown
        end -= start
        start = 0
        capacity = grownCapacity
    }
}
