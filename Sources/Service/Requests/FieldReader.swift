/// Typed, path-aware access to a JSON object's members for request validation: every mismatch
/// is a `RequestError` naming the field and what it should have been.
struct FieldReader {
    let object: JSONObject
    /// The path of this object (`$` for the body).
    let path: String

    init(_ value: JSONValue, path: String) throws(RequestError) {
        guard case .object(let object) = value else {
            throw RequestError(field: path, path == "$" ? "the body must be a JSON object, found \(value.kindDescription)" : "expected an object, found \(value.kindDescription)")
        }
        self.object = object
        self.path = path
    }

    init(object: JSONObject, path: String) {
        self.object = object
        self.path = path
    }

    /// The path of member `key`.
    func field(_ key: String) -> String { path == "$" ? key : "\(path).\(key)" }

    func contains(_ key: String) -> Bool {
        guard let value = object[key] else { return false }
        return !value.isNull
    }

    /// Rejects members outside `known` (catches typos such as `normalise`).
    func rejectUnknownKeys(_ known: [String]) throws(RequestError) {
        for key in object.keys where !known.contains(key) {
            throw RequestError(field: field(key), "unknown field (expected one of: \(known.joined(separator: ", ")))")
        }
    }

    func value(_ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    func required(_ key: String) throws(RequestError) -> JSONValue {
        guard let value = value(key) else { throw RequestError(field: field(key), "is required") }
        return value
    }

    func string(_ key: String) throws(RequestError) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else { throw RequestError(field: field(key), "expected a string, found \(value.kindDescription)") }
        return text
    }

    func requiredString(_ key: String) throws(RequestError) -> String {
        guard let text = try string(key) else { throw RequestError(field: field(key), "is required") }
        return text
    }

    func bool(_ key: String) throws(RequestError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else { throw RequestError(field: field(key), "expected true or false, found \(value.kindDescription)") }
        return flag
    }

    func integer(_ key: String) throws(RequestError) -> Int? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, let integer = number.intValue else {
            throw RequestError(field: field(key), "expected an integer, found \(value.kindDescription == "a number" ? value.numberValue!.text : value.kindDescription)")
        }
        return integer
    }

    /// A string member that must be one of an enumeration's raw values.
    func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, as type: Choice.Type) throws(RequestError) -> Choice?
    where Choice.RawValue == String {
        guard let text = try string(key) else { return nil }
        guard let choice = Choice(rawValue: text) else {
            throw RequestError(field: field(key), "'\(text)' is not one of: \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return choice
    }

    func object(_ key: String) throws(RequestError) -> FieldReader? {
        guard let value = value(key) else { return nil }
        return try FieldReader(value, path: field(key))
    }

    /// A shape: an array of non-negative integers whose product fits (`maximumElements`).
    func shape(_ key: String, maximumElements: Int = 1 << 34) throws(RequestError) -> [Int] {
        let value = try required(key)
        return try Self.shape(value, field: field(key), maximumElements: maximumElements)
    }

    static func shape(_ value: JSONValue, field: String, maximumElements: Int = 1 << 34) throws(RequestError) -> [Int] {
        guard let numbers = value.numericArray, numbers.shape.count == 1 else {
            throw RequestError(field: field, "expected an array of non-negative integers, found \(value.kindDescription)")
        }
        var shape: [Int] = []
        var product = 1
        // The product of the non-zero dimensions is bounded too: a zero makes the tensor empty,
        // but strides multiply the other dimensions ([0, 2^62, 2^62] trapped in `Tensor.strides`;
        // found by the fuzz harness).
        var extent = 1
        let shown = { "[" + numbers.decimals.map { $0.int64Value.map(String.init) ?? "?" }.joined(separator: ", ") + "]" }
        for index in 0..<numbers.count {
            guard numbers.decimals[index].isIntegerLiteral, let dimension = numbers.decimals[index].int64Value.flatMap({ Int(exactly: $0) }),
                  dimension >= 0 else {
                throw RequestError(field: "\(field)[\(index)]", "expected a non-negative integer, found \(numbers.literal(at: index))")
            }
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            guard !overflow, next <= maximumElements else {
                throw RequestError(field: field, "shape \(shown()) has more than \(maximumElements) elements", status: .contentTooLarge, errorType: "request_too_large")
            }
            let (nextExtent, extentOverflow) = extent.multipliedReportingOverflow(by: Swift.max(dimension, 1))
            guard !extentOverflow, nextExtent <= maximumElements else {
                throw RequestError(field: field, "shape \(shown()) is out of range: its non-zero dimensions multiply to more than \(maximumElements)")
            }
            product = next
            extent = nextExtent
            shape.append(dimension)
        }
        return shape
    }
}
