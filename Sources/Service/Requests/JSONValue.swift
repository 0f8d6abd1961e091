/// A parsed JSON document. Arrays whose leaves are all numbers and that are regular (every
/// sub-array at a depth has the same length) become `numbers`, with their shape, in compact form.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
    /// A regular (possibly nested) array of numbers: `[1, 2]`, `[[1.5, 2], [3, 4]]`.
    case numbers(JSONNumberArray)

    /// What this value is, for error messages: "a string", "an object", …
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array, .numbers: "an array"
        case .object: "an object"
        }
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    public var numberValue: JSONNumber? {
        if case .number(let number) = self { return number }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The elements of an array value (numeric arrays expanded to `.number` elements along the
    /// first axis only for rank 1; nested numeric arrays are returned as `.numbers` rows).
    public var arrayElements: [JSONValue]? {
        switch self {
        case .array(let elements): return elements
        case .numbers(let numbers): return numbers.rows()
        default: return nil
        }
    }

    /// This value as a regular numeric array: `.numbers` as is, the empty array as shape [0],
    /// and a generic array of numbers and numeric arrays when it is regular. nil otherwise;
    /// `numericArrayProblem` says why.
    public var numericArray: JSONNumberArray? {
        switch self {
        case .numbers(let numbers): return numbers
        case .array(let elements): return try? JSONNumberArray(elements: elements)
        default: return nil
        }
    }

    /// Why `numericArray` is nil: the first non-number or the first row with a different length.
    public var numericArrayProblem: String {
        switch self {
        case .array(let elements):
            do {
                _ = try JSONNumberArray(elements: elements)
                return "no problem"
            } catch {
                return error.description
            }
        case .numbers: return "no problem"
        default: return "expected an array of numbers, found \(kindDescription)"
        }
    }
}
