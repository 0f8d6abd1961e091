/// An indexed list of modules (PyTorch's `nn.ModuleList`), keys `0`, `1`, …; typed so that
/// `for layer in layers` gives the element type. It has no forward of its own.
public final class ModuleList<Element: Module>: Module, RandomAccessCollection {
    private var elements: [Element] = []

    public init(_ elements: [Element] = []) {
        super.init()
        containerChildren = []
        for element in elements { append(element) }
    }

    public func append(_ module: Element) {
        containerChildren!.append((String(elements.count), module))
        elements.append(module)
    }

    public var startIndex: Int { elements.startIndex }
    public var endIndex: Int { elements.endIndex }
    public subscript(position: Int) -> Element { elements[position] }

    public override var typeName: String { "ModuleList" }

    /// PyTorch's ModuleList repr: consecutive identical children collapse to `(0-1): 2 x Block(...)`.
    public override var description: String {
        guard !elements.isEmpty else { return "ModuleList()" }
        var blocks: [(start: Int, end: Int, text: String)] = []
        for (index, element) in elements.enumerated() {
            let text = element.description
            if let last = blocks.last, last.text == text {
                blocks[blocks.count - 1].end = index
            } else {
                blocks.append((index, index, text))
            }
        }
        let lines = blocks.map { block in
            block.start == block.end
                ? Module.indented("(\(block.start)): \(block.text)")
                : Module.indented("(\(block.start)-\(block.end)): \(block.end - block.start + 1) x \(block.text)")
        }
        return "ModuleList(\n  " + lines.joined(separator: "\n  ") + "\n)"
    }
}
