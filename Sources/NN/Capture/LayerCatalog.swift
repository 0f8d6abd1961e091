/// The ordered layers a model produces: what `GET /v1/models/{name}/layers` lists and what layer
/// selections resolve against.
///
/// A *traced* catalog comes from running a forward pass (`Module.traceLayers(_:)`): one entry per
/// module call in the order calls start (pre-order of execution), with FX-style names for
/// repeated calls, output shapes and call counts. A *static* catalog (`init(moduleTreeOf:)`)
/// lists the module tree without running it: one entry per module, no shapes or call counts.
public struct LayerCatalog: Sendable, Codable, Equatable {
    /// One module call.
    public struct Layer: Sendable, Codable, Equatable {
        /// The capture name: `modulePath` for the first call, `modulePath_k` for call k.
        public var name: String
        /// The module's dotted path in the tree.
        public var modulePath: String
        /// Which call of the module this is (0-based).
        public var call: Int
        /// The module's PyTorch type name (`Conv2d`, `BasicBlock`).
        public var moduleType: String
        /// The primary output's shape for the traced input; nil in a static catalog or when the call threw.
        public var outputShape: [Int]?
        /// How many times the module ran in the traced forward pass; nil in a static catalog.
        public var callCount: Int?
        /// Parameter elements in the module's subtree.
        public var parameterCount: Int

        public init(name: String, modulePath: String, call: Int, moduleType: String, outputShape: [Int]?,
                    callCount: Int?, parameterCount: Int) {
            self.name = name
            self.modulePath = modulePath
            self.call = call
            self.moduleType = moduleType
            self.outputShape = outputShape
            self.callCount = callCount
            self.parameterCount = parameterCount
        }
    }

    /// The layers in order (the model itself excluded: it is `output`).
    public var layers: [Layer]
    /// Every module path in the tree (root excluded), whether or not it ran.
    public var modulePaths: [String]
    /// The model's output shape for the traced input; nil in a static catalog.
    public var outputShape: [Int]?
    /// True when built from a forward pass.
    public var isTraced: Bool
    /// Parameter elements of the whole model.
    public var totalParameterCount: Int

    public init(layers: [Layer], modulePaths: [String], outputShape: [Int]?, isTraced: Bool, totalParameterCount: Int) {
        self.layers = layers
        self.modulePaths = modulePaths
        self.outputShape = outputShape
        self.isTraced = isTraced
        self.totalParameterCount = totalParameterCount
    }

    /// The module tree of `model` without running it.
    public init(moduleTreeOf model: Module) {
        let modules = model.namedModules().dropFirst()
        let layers = modules.map { path, module in
            Layer(name: path, modulePath: path, call: 0, moduleType: module.typeName, outputShape: nil, callCount: nil,
                  parameterCount: module.parameterCount)
        }
        self.init(layers: layers, modulePaths: modules.map(\.name), outputShape: nil, isTraced: false,
                  totalParameterCount: model.parameterCount)
    }

    /// The layer names in order.
    public var names: [String] { layers.map(\.name) }

    /// The layer called `name`, if any.
    public func layer(named name: String) -> Layer? { layers.first { $0.name == name } }

    /// The capture name of call `call` of the module at `path` (torchvision FX naming).
    public static func layerName(modulePath path: String, call: Int) -> String {
        call == 0 ? path : "\(path)_\(call)"
    }
}
