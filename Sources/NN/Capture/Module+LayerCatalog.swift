import Tensors

extension Module {
    /// Runs `body` (a forward pass of this model) with a recording hook on every module and
    /// returns the traced `LayerCatalog`: every module call in the order calls start, named with
    /// FX suffixes (`relu`, `relu_1`), with module type, output shape, call count and parameter
    /// count. The hooks are removed afterwards, also when `body` throws.
    public final func traceLayers<Result>(_ body: () throws -> Result) throws -> LayerCatalog {
        let modules = namedModules()
        var layers: [LayerCatalog.Layer] = []
        var callsByPath: [String: Int] = [:]
        var openCalls: [String: [Int]] = [:]  // path → indices into `layers` of calls still running
        var outputShape: [Int]?
        var handles: [HookHandle] = []
        defer { for handle in handles { handle.remove() } }

        for (path, module) in modules.dropFirst() {
            let moduleType = module.typeName, parameterCount = module.parameterCount
            handles.append(module.registerForwardPreHook { _, _ in
                let call = callsByPath[path, default: 0]
                callsByPath[path] = call + 1
                openCalls[path, default: []].append(layers.count)
                layers.append(LayerCatalog.Layer(name: LayerCatalog.layerName(modulePath: path, call: call), modulePath: path,
                                                 call: call, moduleType: moduleType, outputShape: nil, callCount: nil,
                                                 parameterCount: parameterCount))
                return nil
            })
            handles.append(module.registerForwardHook(alwaysCall: true) { _, _, output in
                if let index = openCalls[path]?.popLast(), case .success(let tensor) = output {
                    layers[index].outputShape = tensor.shape
                }
                return nil
            })
        }
        handles.append(registerForwardHook { _, _, output in
            outputShape = output.shape
            return nil
        })

        _ = try body()
        for index in layers.indices { layers[index].callCount = callsByPath[layers[index].modulePath] }
        return LayerCatalog(layers: layers, modulePaths: modules.dropFirst().map(\.name), outputShape: outputShape,
                            isTraced: true, totalParameterCount: parameterCount)
    }
}
