import Foundation
import NN
import Tensors

/// The operator implementations: one function per ONNX operator, following the specification's
/// semantics for opsets 13–21 (attribute defaults, NumPy broadcasting, negative axes), on the
/// runtime's three compute dtypes (float32, int64, bool; see `ONNXElementType`).
///
/// Each checks what its kernel would otherwise trap on (ranks, shapes, attribute values) and
/// throws `ONNXError.invalidNode` instead: a model or an input the graph cannot take is an error,
/// never a crash. Float32 work goes to the project's kernels (packed GEMM, convolution, pooling,
/// normalization, softmax); the integer and boolean forms are plain loops (shape subgraphs).
enum ONNXOperators {
    /// Operators of the default domain this runtime implements.
    static let supported: Set<String> = [
        "Abs", "Add", "And", "ArgMax", "AveragePool", "BatchNormalization", "Cast", "Ceil", "Clip", "Concat", "Constant",
        "ConstantOfShape", "Conv", "Div", "Dropout", "Elu", "Equal", "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather", "Gelu",
        "Gemm", "GatherND", "GlobalAveragePool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "HardSigmoid", "HardSwish", "Identity", "IsInf", "IsNaN",
        "LayerNormalization", "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax", "MatMul", "Max", "MaxPool", "Min", "Mod", "Mul",
        "Neg", "Not", "Or", "Pad", "Pow", "Range", "Reciprocal", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceSum", "Relu",
        "Reshape", "Resize", "ScatterND", "Shape", "Sigmoid", "Sin", "Cos", "Size", "Slice", "Softmax", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tanh",
        "Tile", "Transpose", "Unsqueeze", "Where",
    ]

    /// The opsets of the default domain whose semantics these implementations follow.
    static let supportedOpsets: ClosedRange<Int64> = 13...21

    // MARK: - Inputs

    static func input(_ inputs: [Tensor?], _ index: Int, _ node: ONNXNode) throws -> Tensor {
        guard index < inputs.count, let tensor = inputs[index] else { throw node.failure("input \(index) is required") }
        return tensor
    }

    static func optionalInput(_ inputs: [Tensor?], _ index: Int) -> Tensor? {
        index < inputs.count ? inputs[index] : nil
    }

    static func floatInput(_ inputs: [Tensor?], _ index: Int, _ node: ONNXNode) throws -> Tensor {
        let tensor = try input(inputs, index, node)
        guard tensor.dtype == .float32 else { throw node.failure("input \(index) must be a float tensor, got \(tensor.dtype)") }
        return tensor
    }

    /// An int64 input as Ints (shapes, axes, indices).
    static func integers(_ tensor: Tensor, _ node: ONNXNode) throws -> [Int] {
        guard tensor.dtype == .int64 else { throw node.failure("expected an integer tensor, got \(tensor.dtype)") }
        return tensor.withUnsafeBufferPointer(as: Int64.self) { $0.map { Int(clamping: $0) } }
    }

    /// `axis` in [-rank, rank) made non-negative.
    static func axis(_ axis: Int, rank: Int, _ node: ONNXNode) throws -> Int {
        guard axis >= -rank && axis < rank else { throw node.failure("axis \(axis) is out of range for rank \(rank)") }
        return axis < 0 ? axis + rank : axis
    }

    // MARK: - Dispatch

    /// Runs `node` on `inputs` (nil: omitted optional input) and returns its outputs.
    static func run(_ node: ONNXNode, inputs: [Tensor?], opset: Int64, cache: ONNXStepCache) throws -> [Tensor] {
        switch node.operatorType {
        case "Add", "Sub", "Mul", "Div", "Pow": return [try arithmetic(node, inputs)]
        case "Mod": return [try modulo(node, inputs)]
        case "Sum", "Max", "Min": return [try variadic(node, inputs)]
        case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or": return [try comparison(node, inputs)]
        case "Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Floor", "Ceil", "Sin", "Cos",
             "HardSigmoid", "HardSwish", "LeakyRelu", "Elu", "Gelu", "Not":
            return [try unary(node, inputs)]
        case "IsNaN", "IsInf": return [try floatClassification(node, inputs)]
        case "Clip": return [try clip(node, inputs)]
        case "Where": return [try whereOperator(node, inputs)]
        case "Cast": return [try cast(node, inputs)]
        case "Identity", "Dropout": return [try input(inputs, 0, node)]
        case "Constant": return [try constant(node)]
        case "ConstantOfShape": return [try constantOfShape(node, inputs)]
        case "Shape": return [try shapeOperator(node, inputs)]
        case "Size": return [Tensor(shape: [], elements: [Int64(try input(inputs, 0, node).count)])]
        case "Range": return [try range(node, inputs)]
        case "Reshape": return [try reshape(node, inputs)]
        case "Flatten": return [try flatten(node, inputs)]
        case "Transpose": return [try transpose(node, inputs)]
        case "Squeeze": return [try squeeze(node, inputs)]
        case "Unsqueeze": return [try unsqueeze(node, inputs)]
        case "Concat": return [try concat(node, inputs)]
        case "Split": return try split(node, inputs, opset: opset)
        case "Slice": return [try slice(node, inputs)]
        case "Gather": return [try gather(node, inputs)]
        case "GatherND": return [try gatherND(node, inputs)]
        case "ScatterND": return [try scatterND(node, inputs)]
        case "Expand": return [try expand(node, inputs)]
        case "Tile": return [try tile(node, inputs)]
        case "Pad": return [try pad(node, inputs)]
        case "Resize": return [try resize(node, inputs, opset: opset)]
        case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin": return [try reduce(node, inputs, opset: opset)]
        case "ArgMax": return [try argmax(node, inputs)]
        case "Softmax", "LogSoftmax": return [try softmax(node, inputs)]
        case "MatMul": return [try matmul(node, inputs, bias: nil, cache: cache)]
        case "Gemm": return [try gemm(node, inputs, cache: cache)]
        case "Conv": return [try convolution(node, inputs, batchNorm: nil, activation: .none, cache: cache)]
        case "BatchNormalization": return [try batchNormalization(node, inputs)]
        case "LayerNormalization": return [try layerNormalization(node, inputs)]
        case "MaxPool", "AveragePool": return [try pool(node, inputs)]
        case "GlobalAveragePool", "GlobalMaxPool": return [try globalPool(node, inputs)]
        default: throw node.failure("unsupported operator")
        }
    }
}
