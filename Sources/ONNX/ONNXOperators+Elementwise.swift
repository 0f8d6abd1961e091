import Foundation
import Tensors

// Elementwise operators: arithmetic (float32 through the broadcasting kernels; int64 and bool as
// loops), comparisons, activations, Clip, Where, Cast and constants.

extension ONNXOperators {
    static func arithmetic(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let a = try input(inputs, 0, node), b = try input(inputs, 1, node)
        let operation = node.operatorType
        if a.dtype == .float32 && operation == "Pow" {
            if b.count == 1 {
                let exponent = b.dtype == .float32 ? b.scalarValue : Float(try integers(b, node)[0])
                let base = b.rank > a.rank ? a.reshaped(Array(repeating: 1, count: b.rank - a.rank) + a.shape) : a
                if exponent == 2 { return base * base }
                if exponent == 0.5 { return base.sqrt() }
                if exponent == 1 { return base }
                return base.map { Foundation.pow($0, exponent) }
            }
            return try ONNXBroadcast.binary(a, b.to(.float32), as: Float.self, node: node) { Foundation.pow($0, $1) }
        }
        if a.dtype == .float32 {
            guard b.dtype == .float32 else { throw node.failure("operands have different types \(a.dtype) and \(b.dtype)") }
            _ = try ONNXBroadcast.shape([a.shape, b.shape], node: node)
            switch operation {
            case "Add": return a + b
            case "Sub": return a - b
            case "Mul": return a * b
            default: return a / b
            }
        }
        guard a.dtype == .int64, b.dtype == .int64 else { throw node.failure("unsupported operand types \(a.dtype) and \(b.dtype)") }
        return try ONNXBroadcast.binary(a, b, as: Int64.self, node: node) { x, y -> Int64 in
            switch operation {
            case "Add": return x &+ y
            case "Sub": return x &- y
            case "Mul": return x &* y
            case "Div":
                guard y != 0 else { throw node.failure("integer division by zero") }
                return x == .min && y == -1 ? .min : x / y
            default:
                guard y >= 0 else { return 0 }
                var result: Int64 = 1
                for _ in 0..<min(y, 64) { result = result &* x }
                return result
            }
        }
    }

    /// Mod: integers take the divisor's sign (Python's %) unless `fmod` = 1 (C's fmod, truncated);
    /// floats require `fmod` = 1, as the specification does.
    static func modulo(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let a = try input(inputs, 0, node), b = try input(inputs, 1, node)
        let truncated = try node.int("fmod", default: 0) != 0
        guard a.dtype == b.dtype else { throw node.failure("operands have different types \(a.dtype) and \(b.dtype)") }
        if a.dtype == .float32 {
            guard truncated else { throw node.failure("floating-point Mod needs fmod=1") }
            return try ONNXBroadcast.binary(a, b, as: Float.self, node: node) { Foundation.fmodf($0, $1) }
        }
        guard a.dtype == .int64 else { throw node.failure("unsupported operand type \(a.dtype)") }
        return try ONNXBroadcast.binary(a, b, as: Int64.self, node: node) { x, y -> Int64 in
            guard y != 0 else { throw node.failure("integer modulo by zero") }
            if y == -1 { return 0 }
            let remainder = x % y
            return !truncated && remainder != 0 && (remainder < 0) != (y < 0) ? remainder + y : remainder
        }
    }

    /// Sum, Max, Min over any number of broadcast operands.
    static func variadic(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let operands = inputs.compactMap { $0 }
        guard var result = operands.first else { throw node.failure("needs at least one input") }
        for operand in operands.dropFirst() {
            guard operand.dtype == result.dtype else { throw node.failure("operands have different types") }
            if result.dtype == .float32 {
                result = try ONNXBroadcast.binary(result, operand, as: Float.self, node: node) { x, y -> Float in
                    switch node.operatorType {
                    case "Sum": x + y
                    case "Max": (x.isNaN || y.isNaN) ? .nan : Swift.max(x, y)
                    default: (x.isNaN || y.isNaN) ? .nan : Swift.min(x, y)
                    }
                }
            } else {
                result = try ONNXBroadcast.binary(result.to(.int64), operand.to(.int64), as: Int64.self, node: node) { x, y -> Int64 in
                    switch node.operatorType {
                    case "Sum": x &+ y
                    case "Max": Swift.max(x, y)
                    default: Swift.min(x, y)
                    }
                }
            }
        }
        return result
    }

    /// Comparisons and logical And/Or: boolean results.
    static func comparison(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let a = try input(inputs, 0, node), b = try input(inputs, 1, node)
        let operation = node.operatorType
        if operation == "And" || operation == "Or" {
            guard a.dtype == .bool, b.dtype == .bool else { throw node.failure("\(operation) needs boolean inputs") }
            return try ONNXBroadcast.binary(a, b, as: Bool.self, node: node) { operation == "And" ? ($0 && $1) : ($0 || $1) }
        }
        func compare<T: Comparable>(_ x: T, _ y: T) -> Bool {
            switch operation {
            case "Equal": x == y
            case "Less": x < y
            case "Greater": x > y
            case "LessOrEqual": x <= y
            default: x >= y
            }
        }
        guard a.dtype == b.dtype else { throw node.failure("operands have different types \(a.dtype) and \(b.dtype)") }
        switch a.dtype {
        case .float32: return try ONNXBroadcast.binary(a, b, as: Float.self, node: node) { compare($0, $1) }
        case .int64: return try ONNXBroadcast.binary(a, b, as: Int64.self, node: node) { compare($0, $1) }
        case .bool:
            guard operation == "Equal" else { throw node.failure("\(operation) of booleans is not defined") }
            return try ONNXBroadcast.binary(a, b, as: Bool.self, node: node) { $0 == $1 }
        default: throw node.failure("unsupported operand type \(a.dtype)")
        }
    }

    /// IsNaN and IsInf (`detect_negative`, `detect_positive`, both 1 by default): boolean results
    /// of a float input (a MiniLM export masks with IsNaN after its attention softmax).
    static func floatClassification(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try floatInput(inputs, 0, node)
        let isNaN = node.operatorType == "IsNaN"
        let negative = try node.int("detect_negative", default: 1) != 0
        let positive = try node.int("detect_positive", default: 1) != 0
        var result = Tensor(uninitializedShape: x.shape, dtype: .bool)
        x.withFloats { values in
            result.withUnsafeMutableBufferPointer(as: Bool.self) { flags in
                if isNaN {
                    for index in values.indices { flags[index] = values[index].isNaN }
                } else {
                    for index in values.indices {
                        let value = values[index]
                        flags[index] = value.isInfinite && (value < 0 ? negative : positive)
                    }
                }
            }
        }
        return result
    }

    static func unary(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try input(inputs, 0, node)
        if node.operatorType == "Not" {
            guard x.dtype == .bool else { throw node.failure("Not needs a boolean input") }
            return Tensor(shape: x.shape, elements: x.withUnsafeBufferPointer(as: Bool.self) { $0.map { !$0 } })
        }
        if x.dtype == .int64 {
            let values = x.withUnsafeBufferPointer(as: Int64.self) { Array($0) }
            switch node.operatorType {
            case "Neg": return Tensor(shape: x.shape, elements: values.map { 0 &- $0 })
            case "Abs": return Tensor(shape: x.shape, elements: values.map { $0 == .min ? .min : Swift.abs($0) })
            case "Relu": return Tensor(shape: x.shape, elements: values.map { Swift.max($0, 0) })
            default: throw node.failure("not defined for integer input")
            }
        }
        guard x.dtype == .float32 else { throw node.failure("input must be a float tensor, got \(x.dtype)") }
        switch node.operatorType {
        case "Relu": return x.relu()
        case "Sigmoid": return x.sigmoid()
        case "Tanh": return x.tanh()
        case "Exp": return x.exp()
        case "Sqrt": return x.sqrt()
        case "Erf": return x.erf()
        case "Log": return x.map { Foundation.log($0) }
        case "Neg": return x * -1
        case "Abs": return x.map { Swift.abs($0) }
        case "Reciprocal": return x.map { 1 / $0 }
        case "Floor": return x.map { $0.rounded(.down) }
        case "Ceil": return x.map { $0.rounded(.up) }
        case "Sin": return x.map { Foundation.sin($0) }
        case "Cos": return x.map { Foundation.cos($0) }
        case "HardSigmoid":
            let alpha = try node.float("alpha", default: 0.2), beta = try node.float("beta", default: 0.5)
            return x.map { Swift.max(0, Swift.min(1, alpha * $0 + beta)) }
        case "HardSwish":
            return x.map { $0 * Swift.max(0, Swift.min(1, $0 / 6 + 0.5)) }
        case "LeakyRelu":
            let alpha = try node.float("alpha", default: 0.01)
            return x.map { $0 < 0 ? alpha * $0 : $0 }
        case "Elu":
            let alpha = try node.float("alpha", default: 1)
            return x.map { $0 < 0 ? alpha * (Foundation.exp($0) - 1) : $0 }
        case "Gelu":
            switch try node.string("approximate", default: "none") {
            case "none": return x.gelu(approximation: .none)
            case "tanh": return x.gelu(approximation: .tanh)
            case let other: throw node.failure("unknown approximate '\(other)'")
            }
        default: throw node.failure("unsupported operator")
        }
    }

    /// Clip with optional min/max inputs (opset ≥ 11; absent bounds are ±∞).
    static func clip(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try input(inputs, 0, node)
        let low = optionalInput(inputs, 1), high = optionalInput(inputs, 2)
        for bound in [low, high].compactMap({ $0 }) where bound.count != 1 {
            throw node.failure("min and max must be scalars, got shape \(bound.shape)")
        }
        if x.dtype == .int64 {
            let lower = try low.map { try integers($0, node)[0] } ?? .min, upper = try high.map { try integers($0, node)[0] } ?? .max
            return Tensor(shape: x.shape, elements: x.withUnsafeBufferPointer(as: Int64.self) { $0.map { Int64(Swift.min(Swift.max(Int($0), lower), upper)) } })
        }
        guard x.dtype == .float32 else { throw node.failure("unsupported input type \(x.dtype)") }
        let lower = low?.scalarValue ?? -.infinity, upper = high?.scalarValue ?? .infinity
        if lower == 0 && upper == .infinity { return x.relu() }
        return x.map { $0.isNaN ? $0 : Swift.min(Swift.max($0, lower), upper) }
    }

    static func whereOperator(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let condition = try input(inputs, 0, node), x = try input(inputs, 1, node), y = try input(inputs, 2, node)
        guard condition.dtype == .bool else { throw node.failure("condition must be boolean, got \(condition.dtype)") }
        guard x.dtype == y.dtype else { throw node.failure("X and Y have different types \(x.dtype) and \(y.dtype)") }
        let output = try ONNXBroadcast.shape([condition.shape, x.shape, y.shape], node: node)
        if let selected = selectFloats(condition, x, y, output: output) { return selected }
        let c = ONNXBroadcast.offsets(of: condition.shape, in: output)
        let a = ONNXBroadcast.offsets(of: x.shape, in: output), b = ONNXBroadcast.offsets(of: y.shape, in: output)
        func select<Element: TensorElement>(_ type: Element.Type) -> Tensor {
            let values: [Element] = condition.withUnsafeBufferPointer(as: Bool.self) { flags in
                x.withUnsafeBufferPointer(as: Element.self) { left in
                    y.withUnsafeBufferPointer(as: Element.self) { right in
                        (0..<c.count).map { flags[c[$0]] ? left[a[$0]] : right[b[$0]] }
                    }
                }
            }
            return Tensor(shape: output, elements: values)
        }
        switch x.dtype {
        case .float32: return select(Float.self)
        case .int64: return select(Int64.self)
        case .bool: return select(Bool.self)
        default: throw node.failure("unsupported type \(x.dtype)")
        }
    }

    /// Where over floats when the condition has the output's shape and each branch has it too or is
    /// one value (an attention mask: `Where(IsNaN(p), 0, p)`): one pass, no offset tables.
    static func selectFloats(_ condition: Tensor, _ x: Tensor, _ y: Tensor, output: [Int]) -> Tensor? {
        guard x.dtype == .float32, condition.shape == output, x.shape == output || x.count == 1,
              y.shape == output || y.count == 1 else { return nil }
        var result = Tensor(uninitializedShape: output)
        condition.withUnsafeBufferPointer(as: Bool.self) { flags in
            x.withFloats { left in
                y.withFloats { right in
                    result.withMutableFloats { out in
                        let leftStep = left.count == 1 ? 0 : 1, rightStep = right.count == 1 ? 0 : 1
                        for index in out.indices {
                            out[index] = flags[index] ? left[index * leftStep] : right[index * rightStep]
                        }
                    }
                }
            }
        }
        return result
    }

    static func cast(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try input(inputs, 0, node)
        guard let code = try node.int("to"), let target = ONNXElementType(rawValue: code), let dtype = target.computeType else {
            throw node.failure("unsupported target type \(String(describing: try? node.int("to")))")
        }
        if dtype == .bool {
            if x.dtype == .bool { return x }
            return Tensor(shape: x.shape, elements: x.to(.float32).withFloats { $0.map { $0 != 0 } })
        }
        if x.dtype == .bool {
            let flags = x.withUnsafeBufferPointer(as: Bool.self) { Array($0) }
            return dtype == .float32 ? Tensor(shape: x.shape, scalars: flags.map { $0 ? 1 : 0 })
                                     : Tensor(shape: x.shape, elements: flags.map { Int64($0 ? 1 : 0) })
        }
        var result = x.to(dtype)
        // Narrower float types: round as the target type would, then compute in float32.
        if target == .float16 || target == .bfloat16 { result = result.to(target == .float16 ? .float16 : .bfloat16).to(.float32) }
        return result
    }

    static func constant(_ node: ONNXNode) throws -> Tensor {
        if let tensor = try node.tensor("value") { return tensor }
        switch node.attributes["value_float"] ?? node.attributes["value_floats"] ?? node.attributes["value_int"] ?? node.attributes["value_ints"] {
        case .float(let value): return Tensor(shape: [], scalars: [value])
        case .floats(let values): return Tensor(shape: [values.count], scalars: values)
        case .int(let value): return Tensor(shape: [], elements: [value])
        case .ints(let values): return Tensor(shape: [values.count], elements: values)
        default: throw node.failure("needs a value, value_float(s) or value_int(s) attribute")
        }
    }

    static func constantOfShape(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let shape = try integers(try input(inputs, 0, node), node)
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? .max : $0 * $1 }) <= 1 << 31 else {
            throw node.failure("invalid shape \(shape)")
        }
        let value = try node.tensor("value") ?? Tensor(shape: [1], scalars: [0])
        guard value.count == 1 else { throw node.failure("value must have one element") }
        switch value.dtype {
        case .float32: return Tensor(shape: shape, repeating: value.scalarValue)
        case .int64: return Tensor(shape: shape, elements: [Int64](repeating: Int64(try integers(value, node)[0]), count: shape.reduce(1, *)))
        default: return Tensor(shape: shape, elements: [Bool](repeating: value.withUnsafeBufferPointer(as: Bool.self) { $0[0] }, count: shape.reduce(1, *)))
        }
    }

    static func range(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let start = try input(inputs, 0, node), limit = try input(inputs, 1, node), delta = try input(inputs, 2, node)
        if start.dtype == .int64 {
            let (a, b, d) = (try integers(start, node)[0], try integers(limit, node)[0], try integers(delta, node)[0])
            guard d != 0 else { throw node.failure("delta is zero") }
            let count = Swift.max(0, (b - a + d - (d > 0 ? 1 : -1)) / d)
            guard count <= 1 << 31 else { throw node.failure("too many elements") }
            return Tensor(shape: [count], elements: (0..<count).map { Int64(a + $0 * d) })
        }
        let (a, b, d) = (start.scalarValue, limit.scalarValue, delta.scalarValue)
        guard d != 0, (b - a) / d < Float(1 << 31) else { throw node.failure("invalid delta \(d)") }
        let count = Swift.max(0, Int(((b - a) / d).rounded(.up)))
        return Tensor(shape: [count], scalars: (0..<count).map { a + Float($0) * d })
    }
}
