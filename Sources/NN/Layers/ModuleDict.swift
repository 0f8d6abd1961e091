/// Modules under string keys in insertion order (PyTorch's `nn.ModuleDict`); typed like
/// `ModuleList`. Keys must be non-empty and contain no dots.
public final class ModuleDict<Element: Module>: Module {
    private var storage: [String: Element] = [:]

    public init(_ entries: [(key: String, module: Element)] = []) {
        super.init()
        containerChildren = []
        for (key, module) in entries { self[key] = module }
    }

    /// The keys in insertion order.
    public var keys: [String] { containerChildren!.map(\.name) }

    /// The modules in insertion order.
    public var values: [Element] { keys.map { storage[$0]! } }

    public var count: Int { storage.count }

    /// The module under `key`. Assigning replaces it in place (keeping its position) or appends;
    /// assigning nil removes it.
    public subscript(key: String) -> Element? {
        get { storage[key] }
        set {
            precondition(!key.isEmpty && !key.contains("."), "ModuleDict: invalid key '\(key)'")
            if let newValue {
                if let index = containerChildren!.firstIndex(where: { $0.name == key }) {
                    containerChildren![index].module = newValue
                } else {
                    containerChildren!.append((key, newValue))
                }
                storage[key] = newValue
            } else if storage.removeValue(forKey: key) != nil {
                containerChildren!.removeAll { $0.name == key }
            }
        }
    }

    public override var typeName: String { "ModuleDict" }
}
