import Foundation
import NN
import Tensors
import TestSupport
import Testing
@testable import ONNX

/// Resize against ONNX Runtime on the hand-built fixtures (Tests/Fixtures/onnx/resize_zoo and
/// resize_opset13, scripts/fixtures/make_onnx_fixtures.py): every mode × coordinate transformation,
/// scales and sizes, up and down, antialiasing, aspect-ratio policies, other axes. Nearest outputs
/// must be equal, the others within 1e-5 of the reference's largest magnitude; and the forms that
/// are refused say so.
@Suite struct ONNXResizeTests {
    @Test(arguments: ["resize_zoo", "resize_opset13"])
    func everyResizeMatchesONNXRuntime(_ name: String) throws {
        let (module, inputs, expected) = try ONNXParityTests.load(name)
        let values = try GradMode.withDisabled { try module.allValues(inputs: inputs) }
        let resized = module.plan.steps.filter { $0.node.operatorType == "Resize" }.map { $0.node.outputs[0] }
        #expect(resized.count > 30, "\(name): \(resized.count) Resize nodes")
        for output in resized {
            guard let actual = values[output], let reference = expected[output] else {
                Issue.record("\(name) \(output): not produced")
                continue
            }
            #expect(actual.shape == reference.shape, "\(output): shape \(actual.shape), ORT \(reference.shape)")
            guard actual.shape == reference.shape else { continue }
            if output.hasPrefix("nearest") {
                #expect(actual.toArray() == reference.toArray(), "\(output): nearest values differ")
            } else {
                let d = difference(actual, reference)!
                #expect(d.scaledError <= 1e-5, "\(output): \(d)")
            }
        }
    }

    /// Runs one Resize node on x [1, 1, 4, 6] with `attributes` and `inputs` after X.
    static func resize(_ attributes: [String: ONNXAttribute], scales: [Float]? = nil, sizes: [Int64]? = nil,
                       opset: Int64 = 19) throws -> Tensor {
        let node = ONNXNode(name: "/resize", operatorType: "Resize", domain: "", inputs: ["x", "", "scales", "sizes"],
                            outputs: ["y"], attributes: attributes, nameScopes: nil)
        let x = Tensor(shape: [1, 1, 4, 6], scalars: (0..<24).map(Float.init))
        return try ONNXOperators.resize(node, [x, nil, scales.map { Tensor(shape: [$0.count], scalars: $0) },
                                               sizes.map { Tensor(shape: [$0.count], elements: $0) }], opset: opset)
    }

    static func failure(_ body: () throws -> Tensor) -> String {
        do {
            _ = try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func refusedFormsSayWhy() {
        #expect(Self.failure { try Self.resize(["coordinate_transformation_mode": .string("tf_crop_and_resize")], scales: [1, 1, 2, 2]) }
            .contains("tf_crop_and_resize"))
        #expect(Self.failure { try Self.resize(["antialias": .int(1)], scales: [1, 1, 0.5, 0.5]) }.contains("antialias"))
        #expect(Self.failure { try Self.resize([:], scales: [1, 1, 2, 2], sizes: [1, 1, 8, 12]) }.contains("only one of scales and sizes"))
        #expect(Self.failure { try Self.resize([:]) }.contains("one of scales and sizes must be given"))
        #expect(Self.failure { try Self.resize([:], scales: [2, 2]) }.contains("2 scales for 4 axes"))
        #expect(Self.failure { try Self.resize([:], scales: [1, 1, 0, 2]) }.contains("must be positive"))
        #expect(Self.failure { try Self.resize(["mode": .string("area")], scales: [1, 1, 2, 2]) }.contains("mode 'area'"))
        #expect(Self.failure { try Self.resize(["axes": .ints([3, -1])], sizes: [2, 2]) }.contains("repeat an axis"))
    }

    @Test func tfCropAndResizeFailsLoadingWithTheUnsupportedOperators() throws {
        typealias W = ProtobufWriter
        let bytes = W.model(nodes: [W.node("Resize", inputs: ["x", "roi", "scales"], outputs: ["y"], name: "/resize",
                                           attributes: [W.stringAttribute("coordinate_transformation_mode", "tf_crop_and_resize")])],
                            initializers: [W.tensor(name: "roi", dims: [8], floats: [0, 0, 0, 0, 1, 1, 1, 1]),
                                           W.tensor(name: "scales", dims: [4], floats: [1, 1, 2, 2])],
                            inputs: [W.valueInfo("x", dims: [-1, 1, 4, 4])], outputs: [W.valueInfo("y", dims: [-1, 1, 8, 8])])
        #expect(throws: ONNXError.unsupportedOperators(["Resize with coordinate_transformation_mode tf_crop_and_resize"])) {
            try ONNXGraphPlan(model: ONNXModelProto.decode(Data(bytes), directory: nil, limit: 1 << 30))
        }
    }

    @Test func attributesOfLaterOpsetsAreIgnoredBefore() throws {
        // Opset 13 has no axes attribute: sizes then list every axis.
        let y = try Self.resize(["axes": .ints([2, 3]), "mode": .string("nearest")], sizes: [1, 1, 2, 3], opset: 13)
        #expect(y.shape == [1, 1, 2, 3])
        // not_larger: one scale, min(3/4, 3/6) = ½, for both axes → 2 × 3.
        let z = try Self.resize(["axes": .ints([2, 3]), "keep_aspect_ratio_policy": .string("not_larger")], sizes: [3, 3])
        #expect(z.shape == [1, 1, 2, 3])
        // Nothing changes: the input itself.
        let same = try Self.resize([:], scales: [1, 1, 1, 1])
        #expect(same.toArray() == (0..<24).map(Float.init))
    }
}
