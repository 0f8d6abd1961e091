import Foundation
import Tensors
@testable import Service

/// Request bodies and answers of the live tests.
enum FeatureRequests {
    /// `{"inputs": {"input": {"shape": [...], "data": [...]}}, "layers": [...], …}` for a vision model or an MLP.
    static func tensorBody(_ tensor: Tensor, name: String = "input", layers: [String], extra: String = "") -> String {
        "{" + inputsMember(tensor, name: name) + ",\"layers\":" + layerList(layers) + extra + "}"
    }

    /// `"inputs": {"<name>": {"shape": [...], "data": [...]}}`.
    static func inputsMember(_ tensor: Tensor, name: String = "input") -> String {
        let data = tensor.toArray().map { "\($0)" }.joined(separator: ",")
        return #""inputs":{""# + name + #"":{"shape":["# + tensor.shape.map(String.init).joined(separator: ",") + #"],"data":["# + data + "]}}"
    }

    /// `{"text": [...], "layers": [...], …}`.
    static func textBody(_ texts: [String], layers: [String], extra: String = "") -> String {
        let list = texts.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",")
        return "{\"text\":[" + list + "],\"layers\":" + layerList(layers) + extra + "}"
    }

    /// `{"inputs": {"input": …}, "target": …, "method": …, "layers": [...], …}` for an attribution (layers are names).
    static func attributionBody(_ tensor: Tensor, target: String, method: String, layers: [String], extra: String = "") -> String {
        let names = layers.map { "\"\($0)\"" }.joined(separator: ",")
        return "{" + inputsMember(tensor) + #","target":"# + target + #","method":""# + method + #"","layers":["# + names + "]" + extra + "}"
    }

    /// Layer selectors as JSON: integers stay numbers.
    static func layerList(_ layers: [String]) -> String {
        "[" + layers.map { Int($0) != nil ? $0 : "\"\($0)\"" }.joined(separator: ",") + "]"
    }

    /// The `features` (or, with `key`, the `attributions`) of a JSON answer: name → (shape, values).
    static func features(_ reply: LiveReply, key: String = "features") throws -> [String: (shape: [Int], values: [Float])] {
        let document = try reply.json()
        guard let features = document.objectValue?[key]?.objectValue else { throw Problem.notFeatures(reply.text) }
        var result: [String: (shape: [Int], values: [Float])] = [:]
        for (name, value) in features.members {
            guard let object = value.objectValue, let shape = object["shape"]?.numericArray,
                  let data = object["data"]?.numericArray else { throw Problem.notFeatures(reply.text) }
            result[name] = (try shape.floats().map { Int($0) }, try data.floats())
        }
        return result
    }

    enum Problem: Error, CustomStringConvertible {
        case notFeatures(String)
        var description: String {
            switch self {
            case .notFeatures(let text): "not a features answer: \(text.prefix(300))"
            }
        }
    }
}
