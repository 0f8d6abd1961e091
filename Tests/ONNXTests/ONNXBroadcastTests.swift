import Testing
import Tensors
@testable import ONNX

/// The row-wise broadcast of the integer and boolean operators against the element-by-element
/// definition (each output element reads its operands at `ONNXBroadcast.offsets`).
@Suite struct ONNXBroadcastTests {
    static let shapes: [([Int], [Int])] = [
        ([1, 1, 3, 1], [2, 1, 1, 4]),   // an attention mask from a query and a key mask
        ([3], [2, 3]), ([2, 3], [3]), ([], [2, 2]), ([2, 2], []), ([], []), ([2, 0], [1, 0]), ([4, 1, 2], [3, 1]),
    ]

    @Test(arguments: shapes)
    func rowsMatchTheElementwiseDefinition(_ left: [Int], _ right: [Int]) throws {
        let node = ONNXNode(name: "n", operatorType: "Add", domain: "", inputs: ["a", "b"], outputs: ["c"], attributes: [:])
        let a = Tensor(shape: left, elements: (0..<left.reduce(1, *)).map { Int64($0 * 10) })
        let b = Tensor(shape: right, elements: (0..<right.reduce(1, *)).map { Int64($0 + 1) })
        let result = try ONNXBroadcast.binary(a, b, as: Int64.self, node: node) { $0 + $1 }
        let output = try ONNXBroadcast.shape([left, right], node: node)
        let (ia, ib) = (ONNXBroadcast.offsets(of: left, in: output), ONNXBroadcast.offsets(of: right, in: output))
        let xs = a.withUnsafeBufferPointer(as: Int64.self) { Array($0) }, ys = b.withUnsafeBufferPointer(as: Int64.self) { Array($0) }
        #expect(result.shape == output)
        #expect(result.withUnsafeBufferPointer(as: Int64.self) { Array($0) } == zip(ia, ib).map { xs[$0] + ys[$1] })
    }

    @Test func shapesThatDoNotBroadcastAreRefused() {
        let node = ONNXNode(name: "n", operatorType: "And", domain: "", inputs: ["a", "b"], outputs: ["c"], attributes: [:])
        let a = Tensor(shape: [2, 3], elements: [Bool](repeating: true, count: 6))
        let b = Tensor(shape: [4], elements: [Bool](repeating: false, count: 4))
        #expect(throws: (any Error).self) { try ONNXBroadcast.binary(a, b, as: Bool.self, node: node) { $0 && $1 } }
    }
}
