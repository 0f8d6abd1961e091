import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

/// The reference data the architecture tests compare against: PyTorch's ordered state-dict keys,
/// reprs and parameter counts (`architectures/architectures.json`, written by
/// `scripts/fixtures/make_architecture_keys.py`) and those of `nn_layers/modules.json`.
enum ArchitectureFixtures {
    struct Reference {
        /// (key, shape) in PyTorch's `state_dict()` order.
        var stateKeys: [(key: String, shape: [Int])]
        var repr: String?
        var parameterCount: Int?
    }

    static let references: [String: Reference] = {
        var result: [String: Reference] = [:]
        do {
            let data = try Data(contentsOf: Fixtures.url("architectures/architectures.json"))
            let root = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
            for (name, entry) in root {
                let keys = (entry["state_keys"] as? [[Any]] ?? []).map { pair in (pair[0] as! String, pair[1] as! [Int]) }
                result[name] = Reference(stateKeys: keys, repr: entry["repr"] as? String, parameterCount: entry["parameter_count"] as? Int)
            }
            let layers = try Data(contentsOf: Fixtures.url("nn_layers/modules.json"))
            let modules = try JSONSerialization.jsonObject(with: layers) as! [String: [String: Any]]
            for name in ["resnet_basic_1111", "vit_tiny"] {
                let entry = modules[name]!
                result[name] = Reference(stateKeys: (entry["state_keys"] as! [String]).map { ($0, []) }, repr: entry["repr"] as? String,
                                         parameterCount: nil)
            }
        } catch {
            fatalError("cannot read the architecture fixtures: \(error)")
        }
        return result
    }()

    /// `architecture` built without drawing random values (only keys, shapes and structure matter).
    static func module(_ architecture: Architecture) throws -> Module {
        try Initializers.withoutRandomValues { try architecture.makeModule() }
    }

    /// Expects `module`'s state dict to have exactly the reference keys, in order (and shapes when known).
    static func expectStateDict(of module: Module, matches name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let reference = references[name] else {
            Issue.record("no reference \(name)", sourceLocation: sourceLocation)
            return
        }
        let state = module.stateDict()
        #expect(state.keys == reference.stateKeys.map(\.key), sourceLocation: sourceLocation)
        if reference.stateKeys.first?.shape.isEmpty == false {
            let shapes = state.map { $0.tensor.shape == [] ? [] : $0.tensor.shape }
            #expect(shapes == reference.stateKeys.map(\.shape), sourceLocation: sourceLocation)
        }
        if let count = reference.parameterCount {
            #expect(module.parameterCount == count, sourceLocation: sourceLocation)
        }
    }

    /// The fixture's expected tensors.
    static func expected(_ folder: String) throws -> SafetensorsFile {
        try SafetensorsFile(contentsOf: Fixtures.url("\(folder)/expected.safetensors"))
    }

    /// Compares every name in `names` with the fixture; returns the largest scaled error.
    @discardableResult
    static func expectParity(_ features: CapturedFeatures, _ expected: SafetensorsFile, names: [String], tolerance: Float = 1e-4,
                             sourceLocation: SourceLocation = #_sourceLocation) throws -> Float {
        var worst: Float = 0
        for name in names {
            guard let actual = features[name] else {
                Issue.record("\(name) was not captured", sourceLocation: sourceLocation)
                continue
            }
            let reference = try expected.tensor(named: name)
            guard let measured = difference(actual, reference) else {
                Issue.record("\(name): shape \(actual.shape), expected \(reference.shape)", sourceLocation: sourceLocation)
                continue
            }
            #expect(measured.scaledError <= tolerance, "\(name): \(measured)", sourceLocation: sourceLocation)
            worst = max(worst, measured.scaledError)
        }
        return worst
    }
}

/// A value loaded once per test process (models are `Sendable`; loading them in debug builds is slow).
struct Loaded<Value: Sendable>: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let result: Result<Value, Failure>

    init(_ load: () throws -> Value) {
        do {
            result = .success(try load())
        } catch {
            result = .failure(Failure(description: "\(error)"))
        }
    }

    func get() throws -> Value { try result.get() }
}
