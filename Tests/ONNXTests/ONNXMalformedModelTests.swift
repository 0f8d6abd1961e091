import Foundation
import NN
import Tensors
import TestSupport
import Testing
@testable import ONNX

/// Every malformed model is a thrown `ONNXError` with a one-line message, never a crash.
@Suite struct ONNXMalformedModelTests {
    typealias W = ProtobufWriter

    /// Decodes and compiles `bytes` (as the loader does).
    @discardableResult
    static func compile(_ bytes: [UInt8], directory: URL? = nil, limit: Int = 1 << 30) throws -> ONNXGraphPlan {
        try ONNXGraphPlan(model: ONNXModelProto.decode(Data(bytes), directory: directory, limit: limit))
    }

    /// The error `body` throws, which must be an `ONNXError` with a one-line description.
    static func error(_ body: () throws -> Void) -> ONNXError? {
        do {
            try body()
            Issue.record("expected an error")
            return nil
        } catch let error as ONNXError {
            #expect(!error.description.contains("\n"))
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    /// y = Relu(x · w) with a 2×2 weight.
    static func validModel(weight: [UInt8]? = nil) -> [UInt8] {
        W.model(nodes: [W.node("MatMul", inputs: ["x", "w"], outputs: ["h"], name: "/fc/MatMul"),
                        W.node("Relu", inputs: ["h"], outputs: ["y"], name: "/relu/Relu")],
                initializers: [weight ?? W.tensor(name: "w", dims: [2, 2], floats: [1, 2, 3, 4])],
                inputs: [W.valueInfo("x", dims: [-1, 2])], outputs: [W.valueInfo("y", dims: [-1, 2])])
    }

    @Test func aValidHandWrittenModelRuns() throws {
        let module = ONNXGraphModule(plan: try Self.compile(Self.validModel()))
        let output = try GradMode.withDisabled { try module(inputs: ["x": Tensor(shape: [1, 2], scalars: [1, -1])]) }
        #expect(output.toArray() == [0, 0])  // [1·1 − 3, 2 − 4] = [−2, −2] → ReLU
        #expect(module.namedModules().map(\.name) == ["", "fc", "relu"])
    }

    @Test func truncatedFilesFail() throws {
        let bytes = try [UInt8](Data(contentsOf: Fixtures.url("onnx/tiny_resnet.onnx")))
        for length in [1, 7, bytes.count / 3, bytes.count / 2, bytes.count - 1] {
            let error = Self.error { try Self.compile(Array(bytes.prefix(length))) }
            #expect(error.map { "\($0)".hasPrefix("truncated model") || "\($0)".hasPrefix("malformed model") } == true, "\(length): \(String(describing: error))")
        }
    }

    @Test func wrongWireTypeFails() {
        // ModelProto.graph (7) sent as a varint.
        let error = Self.error { try Self.compile(W.int(1, 8) + W.int(7, 1)) }
        #expect(error == .wrongWireType(message: "ModelProto", field: 7, wireType: 0, offset: 3))
    }

    @Test func negativeDimensionsFail() {
        let error = Self.error { try Self.compile(Self.validModel(weight: W.tensor(name: "w", dims: [2, -2], floats: [1, 2, 3, 4]))) }
        #expect("\(error!)".contains("negative or overflowing dimension"))
    }

    @Test func overflowingDimensionProductFails() {
        let error = Self.error { try Self.compile(Self.validModel(weight: W.tensor(name: "w", dims: [1 << 40, 1 << 40], raw: []))) }
        #expect("\(error!)".contains("overflows"))
    }

    @Test func dimensionsOverTheLimitFailBeforeAllocating() {
        let error = Self.error { try Self.compile(Self.validModel(weight: W.tensor(name: "w", dims: [1 << 20, 1 << 20], raw: [])), limit: 1 << 20) }
        guard case .tooLarge = error else { Issue.record("expected tooLarge, got \(String(describing: error))"); return }
    }

    @Test func rawDataOfTheWrongSizeFails() {
        let error = Self.error { try Self.compile(Self.validModel(weight: W.tensor(name: "w", dims: [2, 2], raw: [0, 0, 0]))) }
        #expect("\(error!)".contains("raw_data has 3 bytes"))
    }

    @Test func cyclicGraphsFail() {
        let bytes = W.model(nodes: [W.node("Relu", inputs: ["b"], outputs: ["a"], name: "first"),
                                    W.node("Relu", inputs: ["a"], outputs: ["b"], name: "second")],
                            inputs: [W.valueInfo("x", dims: [1])], outputs: [W.valueInfo("a", dims: [1])])
        let error = Self.error { try Self.compile(bytes) }
        #expect(error == .invalidGraph(reason: "the graph has a cycle through nodes first, second"))
    }

    @Test func missingInitializersFail() {
        let bytes = W.model(nodes: [W.node("MatMul", inputs: ["x", "w"], outputs: ["y"], name: "fc")],
                            inputs: [W.valueInfo("x", dims: [1, 2])], outputs: [W.valueInfo("y", dims: [1, 2])])
        let error = Self.error { try Self.compile(bytes) }
        #expect("\(error!)".contains("reads 'w', which no node, graph input or initializer produces"))
    }

    @Test func unknownOperatorsAndOpsetsAreAllListed() {
        let bytes = W.model(nodes: [W.node("FancyOp", inputs: ["x"], outputs: ["a"]),
                                    W.node("FusedConv", inputs: ["a"], outputs: ["b"], domain: "com.microsoft"),
                                    W.node("Relu", inputs: ["b"], outputs: ["y"])],
                            inputs: [W.valueInfo("x", dims: [1])], outputs: [W.valueInfo("y", dims: [1])],
                            opset: 9, extraOpsets: [("com.microsoft", 1)])
        let error = Self.error { try Self.compile(bytes) }
        #expect(error == .unsupportedOperators(["FancyOp (domain ai.onnx, opset 9)", "FusedConv (domain com.microsoft, opset 1)",
                                                "ai.onnx opset 9 (supported: 13–21)"]))
    }

    @Test func externalDataEscapingTheDirectoryFails() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-\(UUID().uuidString)/model")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try Data(repeating: 0, count: 16).write(to: directory.deletingLastPathComponent().appendingPathComponent("secret.bin"))
        for location in ["../secret.bin", "/etc/passwd", "a/../../secret.bin"] {
            let weight = W.tensor(name: "w", dims: [2, 2], external: [("location", location)])
            let error = Self.error { try Self.compile(Self.validModel(weight: weight), directory: directory) }
            #expect("\(error!)".contains("external data of tensor 'w'"), "\(location): \(error!)")
        }
    }

    @Test func externalDataInsideTheDirectoryLoads() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let values: [Float] = [9, 1, 2, 3, 4]
        try Data(values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }).write(to: directory.appendingPathComponent("w.bin"))
        let weight = W.tensor(name: "w", dims: [2, 2], external: [("location", "w.bin"), ("offset", "4"), ("length", "16")])
        let plan = try Self.compile(Self.validModel(weight: weight), directory: directory)
        #expect(plan.initializers[0].tensor.toArray() == [1, 2, 3, 4])
        // Reading past the end of the file is an error too.
        let past = W.tensor(name: "w", dims: [2, 2], external: [("location", "w.bin"), ("offset", "8")])
        let error = Self.error { try Self.compile(Self.validModel(weight: past), directory: directory) }
        #expect("\(error!)".contains("has 20 bytes"))
    }

    @Test func badInputShapesFailTheRequestNotTheProcess() throws {
        let module = ONNXGraphModule(plan: try Self.compile(Self.validModel()))
        let error = Self.error { _ = try GradMode.withDisabled { try module(inputs: ["x": Tensor(zeros: [1, 3])]) } }
        #expect(error == .invalidInput(name: "x", reason: "expected dimension 1 to be 2, got shape [1, 3]"))
    }
}

@Suite struct ONNXModelInlinerTests {
    typealias W = ProtobufWriter

    @Test func externalDataIsInlinedIntoOneFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("inline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let values: [Float] = [1, 2, 3, 4]
        try Data(values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }).write(to: directory.appendingPathComponent("w.bin"))
        let weight = W.tensor(name: "w", dims: [2, 2], external: [("location", "w.bin")])
        let url = directory.appendingPathComponent("model.onnx")
        try Data(ONNXMalformedModelTests.validModel(weight: weight)).write(to: url)
        let inlined = try #require(try ONNXModelInliner.inlinedModel(at: url))
        // Decoded without a directory: no external reference is left.
        let plan = try ONNXGraphPlan(model: ONNXModelProto.decode(inlined))
        #expect(plan.initializers[0].tensor.toArray() == values)
        #expect(try ONNXModelInliner.inlinedModel(at: Fixtures.url("onnx/tiny_resnet.onnx")) == nil)
    }
}
