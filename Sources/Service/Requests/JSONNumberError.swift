/// Why a JSON array could not become the numbers a tensor needs. Paths are flat indices
/// (conversion) or nesting indices (structure).
public enum JSONNumberError: Error, Equatable, Sendable, CustomStringConvertible {
    case outOfRange(index: Int, literal: String, type: String)
    case notInteger(index: Int, literal: String)
    case notANumber(path: [Int], found: String)
    case ragged(path: [Int], detail: String)

    public var description: String {
        switch self {
        case .outOfRange(let index, let literal, let type):
            "element \(index) (\(literal)) is out of range for \(type)"
        case .notInteger(let index, let literal):
            "element \(index) (\(literal)) is not an integer"
        case .notANumber(let path, let found):
            "element \(Self.describe(path)) is \(found), expected a number"
        case .ragged(let path, let detail):
            "the nested arrays are not rectangular: at \(Self.describe(path)) \(detail)"
        }
    }

    static func describe(_ path: [Int]) -> String {
        path.isEmpty ? "the top level" : path.map { "[\($0)]" }.joined()
    }
}
