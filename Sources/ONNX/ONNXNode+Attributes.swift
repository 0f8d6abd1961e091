import Tensors

// Typed attribute access with the specification's defaults; a present attribute of the wrong
// type is an error naming the node, never silently defaulted.

extension ONNXNode {
    /// A label for errors: the node's name, or its operator and first output when unnamed.
    var label: String { name.isEmpty ? "\(operatorType)→\(outputs.first ?? "?")" : name }

    func failure(_ reason: String) -> ONNXError {
        ONNXError.invalidNode(node: label, operator: operatorType, reason: reason)
    }

    func int(_ key: String) throws -> Int? {
        guard let value = attributes[key] else { return nil }
        guard case .int(let number) = value, let result = Int(exactly: number) else { throw failure("attribute '\(key)' must be an int") }
        return result
    }

    func int(_ key: String, default defaultValue: Int) throws -> Int { try int(key) ?? defaultValue }

    func float(_ key: String, default defaultValue: Float) throws -> Float {
        guard let value = attributes[key] else { return defaultValue }
        switch value {
        case .float(let number): return number
        case .int(let number): return Float(number)
        default: throw failure("attribute '\(key)' must be a float")
        }
    }

    func ints(_ key: String) throws -> [Int]? {
        guard let value = attributes[key] else { return nil }
        guard case .ints(let numbers) = value else { throw failure("attribute '\(key)' must be a list of ints") }
        return try numbers.map { number in
            guard let result = Int(exactly: number), abs(result) <= Int(Int32.max) else { throw failure("attribute '\(key)' has an out-of-range value \(number)") }
            return result
        }
    }

    func string(_ key: String, default defaultValue: String) throws -> String {
        guard let value = attributes[key] else { return defaultValue }
        guard case .string(let text) = value else { throw failure("attribute '\(key)' must be a string") }
        return text
    }

    func tensor(_ key: String) throws -> Tensor? {
        guard let value = attributes[key] else { return nil }
        guard case .tensor(let tensor) = value else { throw failure("attribute '\(key)' must be a tensor") }
        return tensor
    }
}
