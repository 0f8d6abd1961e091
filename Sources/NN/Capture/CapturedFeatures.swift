import Tensors

/// The tensors a capture produced, by layer name, in the order they were produced. Every tensor is
/// a detached copy with its own storage, so the value is `Sendable` and nothing a later op does
/// to the model's buffers can change it.
public struct CapturedFeatures: Sendable, RandomAccessCollection {
    public typealias Element = (name: String, tensor: Tensor)

    public private(set) var entries: [Element] = []
    private var positions: [String: Int] = [:]

    public init() {}

    /// The names in order.
    public var names: [String] { entries.map(\.name) }

    /// The tensor captured as `name`.
    public subscript(name: String) -> Tensor? { positions[name].map { entries[$0].tensor } }

    /// Adds (or replaces) `name`.
    mutating func record(_ name: String, _ tensor: Tensor) {
        if let position = positions[name] {
            entries[position].tensor = tensor
        } else {
            positions[name] = entries.count
            entries.append((name, tensor))
        }
    }

    public var startIndex: Int { entries.startIndex }
    public var endIndex: Int { entries.endIndex }
    public subscript(position: Int) -> Element { entries[position] }
}
