import Tensors

/// The children, parameters and buffers one module declares, with their PyTorch keys, found
/// once by `Mirror` over the module's stored properties.
struct ModuleSlots {
    var children: [(name: String, module: Module)] = []
    var parameters: [(name: String, parameter: Parameter)] = []
    var buffers: [(name: String, buffer: Buffer)] = []

    /// Reads `module`'s stored properties, superclass properties first, in declaration order.
    /// Containers register their children explicitly; their properties are not scanned.
    static func discover(in module: Module) -> ModuleSlots {
        var slots = ModuleSlots()
        if module.containerChildren != nil { return slots }
        // Mirror lists only the dynamic type's own properties; walk up to (excluding) Module.
        var mirrors: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: module)
        while let current = mirror, current.subjectType != Module.self {
            mirrors.append(current)
            mirror = current.superclassMirror
        }
        let overrides = module.keyOverrides
        var keys = Set<String>()
        for level in mirrors.reversed() {
            for child in level.children {
                guard let label = child.label, !label.hasPrefix("$") else { continue }
                let key = overrides[label] ?? snakeCase(label)
                let value = child.value
                if let submodule = value as? Module {
                    precondition(submodule !== module, "\(module.typeName): property '\(label)' refers to the module itself")
                    precondition(keys.insert(key).inserted, "\(module.typeName): two properties map to the key '\(key)'")
                    slots.children.append((key, submodule))
                } else if let parameter = value as? Parameter {
                    precondition(keys.insert(key).inserted, "\(module.typeName): two properties map to the key '\(key)'")
                    slots.parameters.append((key, parameter))
                } else if let buffer = value as? Buffer {
                    precondition(keys.insert(key).inserted, "\(module.typeName): two properties map to the key '\(key)'")
                    slots.buffers.append((key, buffer))
                } else {
                    // Collections of modules would silently vanish from the state dict.
                    precondition(!(value is [Module]) && !(value is [String: Module]) && !(value is [Module?]),
                                 "\(module.typeName): property '\(label)' holds a collection of modules; use ModuleList or ModuleDict")
                    precondition(!(value is [Parameter]) && !(value is [Buffer]),
                                 "\(module.typeName): property '\(label)' holds a collection of parameters or buffers; declare one property each")
                    precondition(Mirror(reflecting: value).displayStyle != .tuple
                                 || !Mirror(reflecting: value).children.contains { $0.value is Module },
                                 "\(module.typeName): property '\(label)' holds a tuple of modules; declare one property each")
                }
            }
        }
        // Registered entries (graph-built trees, e.g. ONNX imports) come after the properties.
        for (name, child) in module.registeredChildren {
            precondition(keys.insert(name).inserted, "\(module.typeName): two entries map to the key '\(name)'")
            slots.children.append((name, child))
        }
        for (name, parameter) in module.registeredParameters {
            precondition(keys.insert(name).inserted, "\(module.typeName): two entries map to the key '\(name)'")
            slots.parameters.append((name, parameter))
        }
        return slots
    }

    /// `runningMean` → `running_mean`, `inProjWeight` → `in_proj_weight`, `QKVProj` → `qkv_proj`.
    static func snakeCase(_ name: String) -> String {
        let characters = Array(name)
        var result = ""
        for (index, character) in characters.enumerated() {
            guard character.isUppercase else {
                result.append(character)
                continue
            }
            if index > 0 {
                let previous = characters[index - 1]
                let nextIsLowercase = index + 1 < characters.count && characters[index + 1].isLowercase
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLowercase) {
                    result.append("_")
                }
            }
            result.append(contentsOf: character.lowercased())
        }
        return result
    }
}
