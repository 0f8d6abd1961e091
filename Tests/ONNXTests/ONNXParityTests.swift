import Foundation
import NN
import Tensors
import TestSupport
import Testing
@testable import ONNX

/// Every node output of the committed models against ONNX Runtime's (Tests/Fixtures/onnx, written by
/// scripts/fixtures/make_onnx_fixtures.py), within 1e-4 of the reference tensor's largest magnitude.
@Suite struct ONNXParityTests {
    static let models = ["tiny_resnet", "mobile_block", "tiny_bert", "ops_zoo", "resize_zoo", "resize_opset13", "tiny_dinov2"]

    /// The compiled model and the fixture's inputs and expected outputs.
    static func load(_ name: String) throws -> (module: ONNXGraphModule, inputs: [String: Tensor], expected: [String: Tensor]) {
        let model = try ONNXModelProto.read(contentsOf: Fixtures.url("onnx/\(name).onnx"))
        let module = ONNXGraphModule(plan: try ONNXGraphPlan(model: model))
        var inputs: [String: Tensor] = [:], expected: [String: Tensor] = [:]
        let file = try SafetensorsFile(contentsOf: Fixtures.url("onnx/\(name).safetensors"))
        let scalars = Set((file.metadata["scalars"] ?? "").split(separator: ",").map(String.init))
        for (key, stored) in try file.tensors() {
            let tensor = scalars.contains(key) ? stored.reshaped([]) : stored
            if key.hasPrefix("input:") { inputs[String(key.dropFirst(6))] = tensor }
            if key.hasPrefix("output:") { expected[String(key.dropFirst(7))] = tensor }
        }
        return (module, inputs, expected)
    }

    /// Fails the test naming `name` unless `actual` matches `expected` (exactly for integers and booleans).
    static func check(_ name: String, _ actual: Tensor?, _ expected: Tensor) {
        guard let actual else {
            Issue.record("\(name): not produced")
            return
        }
        #expect(actual.shape == expected.shape, "\(name): shape \(actual.shape), expected \(expected.shape)")
        guard actual.shape == expected.shape else { return }
        if expected.dtype.isFloatingPoint {
            let d = difference(actual.to(.float32), expected.to(.float32))!
            #expect(d.scaledError <= 1e-4, "\(name): \(d)")
        } else {
            #expect(actual.toArray() == expected.toArray(), "\(name): values differ")
        }
    }

    @Test(arguments: models) func everyNodeOutputMatchesONNXRuntime(_ name: String) throws {
        let (module, inputs, expected) = try Self.load(name)
        let values = try GradMode.withDisabled { try module.allValues(inputs: inputs) }
        #expect(expected.count == values.count, "\(name): \(values.count) node outputs, ORT has \(expected.count)")
        for (key, reference) in expected.sorted(by: { $0.key < $1.key }) { Self.check("\(name) \(key)", values[key], reference) }
    }

    @Test(arguments: models) func fusedForwardMatchesONNXRuntime(_ name: String) throws {
        let (module, inputs, expected) = try Self.load(name)
        let outputs = try GradMode.withDisabled { try module.outputs(inputs: inputs) }
        for outputName in module.plan.outputNames { Self.check("\(name) \(outputName)", outputs[outputName], expected[outputName]!) }
        let first = try GradMode.withDisabled { try module(inputs: inputs) }
        Self.check("\(name) first output", first, expected[module.plan.outputNames[0]]!)
    }

    @Test func singleRowOfABatchMatchesTheBatch() throws {
        let (module, inputs, expected) = try Self.load("tiny_resnet")
        let single = ["input": inputs["input"]!.sliced(axis: 0, 1..<2)]
        let output = try GradMode.withDisabled { try module(inputs: single) }
        Self.check("tiny_resnet row 1", output, expected["logits"]!.sliced(axis: 0, 1..<2))
    }
}
