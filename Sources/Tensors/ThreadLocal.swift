#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A per-thread value backed by a pthread key. Forward passes run on dedicated threads (never on
/// Swift's cooperative pool), so thread-local state is the right scope for modes like no-grad.
public final class ThreadLocal<Value>: @unchecked Sendable {
    private final class Box { var value: Value; init(_ value: Value) { self.value = value } }
    private var key = pthread_key_t()
    private let makeDefault: @Sendable () -> Value

    public init(default makeDefault: @escaping @Sendable () -> Value) {
        self.makeDefault = makeDefault
        let result = pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<AnyObject>.fromOpaque(pointer).release() }
        }
        precondition(result == 0, "ThreadLocal: pthread_key_create failed")
    }

    private var box: Box {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<Box>.fromOpaque(pointer).takeUnretainedValue()
        }
        let box = Box(makeDefault())
        pthread_setspecific(key, Unmanaged.passRetained(box as AnyObject).toOpaque())
        return box
    }

    public var value: Value {
        get { box.value }
        set { box.value = newValue }
    }

    /// Sets the value for the duration of `body`, restoring the previous one afterwards (also on throw).
    public func withValue<Result>(_ value: Value, _ body: () throws -> Result) rethrows -> Result {
        let box = self.box
        let saved = box.value
        box.value = value
        defer { box.value = saved }
        return try body()
    }
}
