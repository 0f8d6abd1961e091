import Tensors

/// An ordered mapping from PyTorch keys to tensors (`state_dict()`): parameters and persistent
/// buffers, module by module in pre-order. `Sendable`, so it can travel to worker threads that build
/// replicas from it.
public struct StateDict: Sendable, RandomAccessCollection, CustomStringConvertible {
    public typealias Element = (key: String, tensor: Tensor)

    public private(set) var entries: [Element] = []
    private var positions: [String: Int] = [:]

    public init() {}

    /// Entries in order. A repeated key keeps its first position and takes the later value.
    public init(_ entries: some Sequence<(key: String, tensor: Tensor)>) {
        for (key, tensor) in entries { self[key] = tensor }
    }

    /// The keys in order.
    public var keys: [String] { entries.map(\.key) }

    /// The tensor stored under `key`. Setting a new key appends it; setting nil removes it.
    public subscript(key: String) -> Tensor? {
        get { positions[key].map { entries[$0].tensor } }
        set {
            if let position = positions[key] {
                if let newValue {
                    entries[position].tensor = newValue
                } else {
                    entries.remove(at: position)
                    positions = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.key, $0) })
                }
            } else if let newValue {
                positions[key] = entries.count
                entries.append((key, newValue))
            }
        }
    }

    public var startIndex: Int { entries.startIndex }
    public var endIndex: Int { entries.endIndex }
    public subscript(position: Int) -> Element { entries[position] }

    public var description: String {
        "StateDict(" + entries.map { "\($0.key): \($0.tensor.dtype) \($0.tensor.shape)" }.joined(separator: ", ") + ")"
    }
}
