/// Why a module could not run on its input: a clear error instead of a crash deep inside a
/// kernel, since inputs arrive from HTTP clients.
public enum ModuleError: Error, Equatable, CustomStringConvertible {
    /// `module` (its PyTorch type name) cannot process the input, for `reason`.
    case invalidInput(module: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidInput(module, reason): "\(module): \(reason)"
        }
    }
}
