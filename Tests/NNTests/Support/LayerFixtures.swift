import Foundation
import NN
import Tensors
import TestSupport

/// The PyTorch reference data in `Tests/Fixtures/nn_layers` (see its `generate.py`).
enum LayerFixtures {
    struct ModuleInfo: Decodable {
        let repr: String
        let stateKeys: [String]

        enum CodingKeys: String, CodingKey {
            case repr
            case stateKeys = "state_keys"
        }
    }

    static let file: SafetensorsFile = {
        do {
            return try SafetensorsFile(contentsOf: Fixtures.url("nn_layers/layers.safetensors"))
        } catch {
            fatalError("cannot read nn_layers/layers.safetensors: \(error)")
        }
    }()

    static let modules: [String: ModuleInfo] = {
        do {
            let data = try Data(contentsOf: Fixtures.url("nn_layers/modules.json"))
            return try JSONDecoder().decode([String: ModuleInfo].self, from: data)
        } catch {
            fatalError("cannot read nn_layers/modules.json: \(error)")
        }
    }()

    /// `<case>.<name>`.
    static func tensor(_ testCase: String, _ name: String) throws -> Tensor {
        try file.tensor(named: "\(testCase).\(name)")
    }

    static func hasTensor(_ testCase: String, _ name: String) -> Bool {
        file.info(named: "\(testCase).\(name)") != nil
    }

    /// The module's state dict before the call, in PyTorch's key order.
    static func stateDict(_ testCase: String) throws -> StateDict {
        var result = StateDict()
        for key in modules[testCase]!.stateKeys {
            result[key] = try tensor(testCase, "state.\(key)")
        }
        return result
    }
}
