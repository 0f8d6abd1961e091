import Tensors

/// Runs its layers in order, each on the previous one's output (PyTorch's `nn.Sequential`).
/// Keys are `0`, `1`, … or the names given to `init(named:)` (PyTorch's `OrderedDict` form).
/// Subclass it to give the block its own type name in descriptions (torchvision's `MLPBlock`);
/// a container's children are the layers given to it, so subclasses declare no module properties.
open class Sequential: UnaryModule {
    public private(set) var layers: [UnaryModule] = []

    public convenience init(_ layers: UnaryModule...) {
        self.init(layers)
    }

    public init(_ layers: [UnaryModule]) {
        super.init()
        containerChildren = []
        for layer in layers { append(layer) }
    }

    /// Layers with explicit keys (no dots, each once).
    public init(named layers: [(name: String, layer: UnaryModule)]) {
        super.init()
        containerChildren = []
        for (name, layer) in layers { append(layer, name: name) }
    }

    public var count: Int { layers.count }

    public subscript(index: Int) -> UnaryModule { layers[index] }

    /// Appends `layer` under `name`, or under its index when `name` is nil.
    public final func append(_ layer: UnaryModule, name: String? = nil) {
        let key = name ?? String(layers.count)
        precondition(!key.isEmpty && !key.contains("."), "Sequential: invalid key '\(key)'")
        precondition(!(containerChildren ?? []).contains { $0.name == key }, "Sequential: duplicate key '\(key)'")
        layers.append(layer)
        containerChildren!.append((key, layer))
    }

    /// Runs the layers in order; a Linear followed by a GELU, neither hooked, with nothing being
    /// recorded, runs as one GEMM with GELU in its epilogue (the same values as the two layers).
    open override func forward(_ input: Tensor) throws -> Tensor {
        var x = input
        var index = 0
        while index < layers.count {
            if index + 1 < layers.count, let linear = layers[index] as? Linear, let gelu = layers[index + 1] as? GELU,
               linear.canFuseEpilogue(x, then: gelu) {
                x = linear.inferenceWeights().linearGELU(x, approximation: gelu.approximation)
                index += 2
                continue
            }
            x = try layers[index](x)
            index += 1
        }
        return x
    }
}
