import Tensors

/// A regular (possibly nested) JSON array of numbers, kept as decimals with its shape until the
/// element type is known, then converted in one pass straight into tensor storage.
public struct JSONNumberArray: Sendable {
    /// Lengths at each nesting level: `[[1,2,3],[4,5,6]]` has shape [2, 3]; `[]` has [0].
    public let shape: [Int]
    /// The numbers in row-major order.
    public let decimals: [JSONDecimal]
    /// Literals of numbers with more than 19 significant digits, by flat index (their exact
    /// conversion may need every digit).
    let truncatedLiterals: [Int: String]

    init(shape: [Int], decimals: [JSONDecimal], truncatedLiterals: [Int: String]) {
        self.shape = shape
        self.decimals = decimals
        self.truncatedLiterals = truncatedLiterals
    }

    public var count: Int { decimals.count }

    /// True when every literal is a plain integer (`3`, `-7`; no `.` or exponent).
    public var allIntegerLiterals: Bool { decimals.allSatisfy(\.isIntegerLiteral) }

    /// The literal of element `index` (as written when it had more than 19 digits, else canonical).
    public func literal(at index: Int) -> String {
        if let literal = truncatedLiterals[index] { return literal }
        let decimal = decimals[index]
        if decimal.isIntegerLiteral, let integer = decimal.int64Value { return String(integer) }
        return decimal.canonicalText
    }

    // MARK: - From generic arrays

    /// Builds the numeric array of generic `elements` (numbers, numeric arrays, generic arrays of
    /// them); throws when an element is not a number or the nesting is ragged.
    public init(elements: [JSONValue]) throws(JSONNumberError) {
        // The first element at each depth fixes the shape; everything else must match it.
        func firstShape(_ children: [JSONValue]) -> [Int] {
            var shape = [children.count]
            switch children.first {
            case .array(let grandchildren): shape += firstShape(grandchildren)
            case .numbers(let numbers): shape += numbers.shape
            default: break
            }
            return shape
        }
        let shape = firstShape(elements)
        var decimals: [JSONDecimal] = []
        var truncated: [Int: String] = [:]
        func visit(_ children: [JSONValue], level: Int, path: [Int]) throws(JSONNumberError) {
            guard children.count == shape[level] else {
                throw .ragged(path: path, detail: "\(children.count) elements where the first array at this depth has \(shape[level])")
            }
            for (index, child) in children.enumerated() {
                let childPath = path + [index]
                let expectsArray = level + 1 < shape.count
                switch child {
                case .number(let number) where !expectsArray:
                    if number.decimal.truncated { truncated[decimals.count] = number.text }
                    decimals.append(number.decimal)
                case .numbers(let numbers) where expectsArray:
                    guard numbers.shape == Array(shape[(level + 1)...]) else {
                        throw .ragged(path: childPath, detail: "an array of shape \(numbers.shape) where shape \(Array(shape[(level + 1)...])) was expected")
                    }
                    for (offset, literal) in numbers.truncatedLiterals { truncated[decimals.count + offset] = literal }
                    decimals += numbers.decimals
                case .array(let grandchildren) where expectsArray:
                    try visit(grandchildren, level: level + 1, path: childPath)
                case .number, .numbers, .array:
                    throw .ragged(path: childPath, detail: expectsArray ? "a number where an array was expected" : "an array where a number was expected")
                default:
                    throw .notANumber(path: childPath, found: child.kindDescription)
                }
            }
        }
        try visit(elements, level: 0, path: [])
        self.init(shape: shape, decimals: decimals, truncatedLiterals: truncated)
    }

    /// The first-axis rows as JSON values (`.number` for rank 1, `.numbers` otherwise).
    public func rows() -> [JSONValue] {
        guard let first = shape.first else { return [] }
        if shape.count == 1 {
            return (0..<first).map { index in .number(JSONNumber(decimal: decimals[index], text: literal(at: index))) }
        }
        let rowShape = Array(shape.dropFirst())
        let rowCount = rowShape.reduce(1, *)
        return (0..<first).map { row in
            let range = (row * rowCount)..<((row + 1) * rowCount)
            var literals: [Int: String] = [:]
            for (index, literal) in truncatedLiterals where range.contains(index) { literals[index - range.lowerBound] = literal }
            return .numbers(JSONNumberArray(shape: rowShape, decimals: Array(decimals[range]), truncatedLiterals: literals))
        }
    }

    // MARK: - Conversion

    /// The values as float32, correctly rounded; throws for values beyond float32's range.
    public func floats() throws(JSONNumberError) -> [Float] {
        var result = [Float](repeating: 0, count: count)
        try result.withUnsafeMutableBufferPointer { (buffer) throws(JSONNumberError) in try decode(into: buffer) }
        return result
    }

    /// Writes the values as float32 into `destination` (which holds `count` elements).
    public func decode(into destination: UnsafeMutableBufferPointer<Float>) throws(JSONNumberError) {
        precondition(destination.count == count, "JSONNumberArray: \(destination.count) slots for \(count) numbers")
        try decimals.withUnsafeBufferPointer { (source) throws(JSONNumberError) in
            for index in 0..<source.count {
                guard let value = source[index].floatValue(text: { truncatedLiterals[index] ?? "" }) else {
                    throw .outOfRange(index: index, literal: literal(at: index), type: "float32")
                }
                destination[index] = value
            }
        }
    }

    /// The values as Int64; throws for non-integers and values out of range.
    public func int64s() throws(JSONNumberError) -> [Int64] {
        var result = [Int64](repeating: 0, count: count)
        for index in 0..<count {
            let decimal = decimals[index]
            guard let value = decimal.int64Value else {
                if decimal.isIntegral {
                    throw .outOfRange(index: index, literal: literal(at: index), type: "int64")
                }
                throw .notInteger(index: index, literal: literal(at: index))
            }
            result[index] = value
        }
        return result
    }

    /// The values as doubles, correctly rounded.
    public func doubles() throws(JSONNumberError) -> [Double] {
        try (0..<count).map { (index) throws(JSONNumberError) -> Double in
            guard let value = decimals[index].doubleValue(text: { truncatedLiterals[index] ?? "" }) else {
                throw .outOfRange(index: index, literal: literal(at: index), type: "float64")
            }
            return value
        }
    }

    /// A tensor of `dtype` with this array's values and `shape` (default: the array's own shape;
    /// a different shape must have the same element count). Integers must be exact integers in
    /// range; float16 rounds through float64.
    public func tensor(dtype: DType, shape targetShape: [Int]? = nil) throws(JSONNumberError) -> Tensor {
        let shape = targetShape ?? self.shape
        precondition(Tensor.elementCount(shape) == count, "JSONNumberArray: shape \(shape) for \(count) numbers")
        switch dtype {
        case .float32:
            var tensor = Tensor(uninitializedShape: shape, dtype: .float32)
            let outcome = tensor.withUnsafeMutableBufferPointer(as: Float.self) { buffer in
                Result { () throws(JSONNumberError) in try decode(into: buffer) }
            }
            try outcome.get()
            return tensor
        case .float16, .bfloat16:
            let values = try doubles()
            let floats = values.map { Float($0) }
            if dtype == .float16 {
                return Tensor(shape: shape, elements: values.map { Float16($0) })
            }
            return Tensor(shape: shape, elements: floats.map { BFloat16($0) })
        case .int64:
            return Tensor(shape: shape, elements: try int64s())
        case .int32:
            let values = try int64s()
            for (index, value) in values.enumerated() where Int32(exactly: value) == nil {
                throw .outOfRange(index: index, literal: literal(at: index), type: "int32")
            }
            return Tensor(shape: shape, elements: values.map { Int32($0) })
        case .uint8:
            let values = try int64s()
            for (index, value) in values.enumerated() where UInt8(exactly: value) == nil {
                throw .outOfRange(index: index, literal: literal(at: index), type: "uint8")
            }
            return Tensor(shape: shape, elements: values.map { UInt8($0) })
        case .bool:
            let values = try int64s()
            for (index, value) in values.enumerated() where value != 0 && value != 1 {
                throw .outOfRange(index: index, literal: literal(at: index), type: "bool (0 or 1)")
            }
            return Tensor(shape: shape, elements: values.map { $0 != 0 })
        }
    }
}
