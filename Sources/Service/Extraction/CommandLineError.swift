/// A command-line argument that is missing, malformed or not expected; the dataset extraction
/// reports bad options (`--dataset`, `--output-dir`) with it too.
public enum CommandLineError: Error, CustomStringConvertible {
    case missingValue(option: String)
    case invalidValue(option: String, value: String, expected: String)
    case missingArgument(String)
    case unexpected([String])
    case unknownCommand(String)

    public var description: String {
        switch self {
        case .missingValue(let option): "option --\(option) needs a value"
        case .invalidValue(let option, let value, let expected): "option --\(option): '\(value)' is not \(expected)"
        case .missingArgument(let what): "missing argument: \(what)"
        case .unexpected(let words): "unexpected arguments: \(words.joined(separator: " "))"
        case .unknownCommand(let name): "unknown command '\(name)'"
        }
    }
}
