import Foundation

/// Everything the model registry can refuse or fail at; each case names the offending model,
/// version, path or key so the message alone says what to fix.
public enum RegistryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A model name that does not match `[a-z0-9][a-z0-9._-]{0,63}`.
    case invalidName(String)
    /// A version number below 1.
    case invalidVersion(name: String, version: Int)
    /// No model with this name.
    case modelNotFound(String)
    /// The model exists but not this version.
    case versionNotFound(name: String, version: Int)
    /// The database was written by a newer Periscope than this one.
    case newerSchema(path: String, found: Int, supported: Int)
    /// SQLite failed (the code is SQLite's extended result code).
    case database(code: Int, message: String, statement: String)
    /// A weights path that leaves the model root (`..`, an absolute path elsewhere, a symlink out).
    case pathOutsideModelRoot(path: String, modelRoot: String)
    /// A weights path that is empty or otherwise unusable.
    case invalidPath(path: String, reason: String)
    /// The weights file does not exist.
    case weightsNotFound(path: String)
    /// The weights path is not a regular file.
    case notARegularFile(path: String)
    /// The weights file's size differs from the registered one.
    case sizeMismatch(path: String, expected: Int64, actual: Int64)
    /// The weights file's SHA-256 differs from the registered one.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// The model configuration is not a JSON object.
    case invalidConfiguration(name: String, reason: String)
    /// A label key or value that is empty, too long or contains control characters.
    case invalidLabel(key: String, reason: String)
    /// A precision that is not `float32`, `bfloat16` or `int8`; `field` is where it was given.
    case invalidPrecision(String, field: String)
    /// A status change the lifecycle does not allow (for example `ready` without `loading`).
    case invalidTransition(name: String, version: Int, from: String, to: String)
    /// A file-system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// `write` or `commit` on an upload that was already committed or aborted.
    case uploadClosed
    /// The upload's byte count is not the one the client announced.
    case uploadSizeMismatch(expected: Int64, actual: Int64)
    /// The upload's SHA-256 is not the one the client announced.
    case uploadChecksumMismatch(expected: String, actual: String)
    /// A fault injected by a test (stands in for a crash or a failing disk).
    case injectedFault(String)
    /// No extraction job with this id.
    case jobNotFound(String)

    /// Whether the disk or the quota ran out (`ENOSPC`, `EDQUOT`, or SQLite's `SQLITE_FULL` — its
    /// primary code, as extended result codes are on): the operation failed for space, and
    /// freeing some lets it succeed.
    public var isOutOfSpace: Bool {
        switch self {
        case .io(_, _, let errorNumber): errorNumber == ENOSPC || errorNumber == EDQUOT
        case .database(let code, _, _): code & 0xFF == 13
        default: false
        }
    }

    public var description: String {
        switch self {
        case .invalidName(let name):
            "invalid model name '\(name)': expected 1 to 64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
        case .invalidVersion(let name, let version): "invalid version \(version) of model '\(name)': versions start at 1"
        case .modelNotFound(let name): "unknown model '\(name)'"
        case .versionNotFound(let name, let version): "model '\(name)' has no version \(version)"
        case .newerSchema(let path, let found, let supported):
            "registry database \(path) has schema version \(found), newer than the \(supported) this periscope supports; upgrade periscope or use another database"
        case .database(let code, let message, let statement): "registry database error \(code) (\(message)) in: \(statement)"
        case .pathOutsideModelRoot(let path, let root): "weights path '\(path)' is outside the model root \(root)"
        case .invalidPath(let path, let reason): "invalid weights path '\(path)': \(reason)"
        case .weightsNotFound(let path): "weights file \(path) does not exist"
        case .notARegularFile(let path): "weights path \(path) is not a regular file"
        case .sizeMismatch(let path, let expected, let actual): "weights file \(path) has \(actual) bytes, registered with \(expected)"
        case .checksumMismatch(let path, let expected, let actual): "weights file \(path) has SHA-256 \(actual), registered with \(expected)"
        case .invalidConfiguration(let name, let reason): "configuration of model '\(name)' is invalid: \(reason)"
        case .invalidLabel(let key, let reason): "invalid label '\(key)': \(reason)"
        case .invalidPrecision(let text, let field):
            "\(field): expected one of " + ModelPrecision.allCases.map(\.rawValue).joined(separator: ", ") + ", got '\(text)'"
        case .invalidTransition(let name, let version, let from, let to): "model '\(name)' version \(version) cannot go from \(from) to \(to)"
        case .io(let operation, let path, let code): "\(operation) \(path): \(String(cString: strerror(code)))"
        case .uploadClosed: "the upload was already committed or aborted"
        case .uploadSizeMismatch(let expected, let actual): "upload has \(actual) bytes, expected \(expected)"
        case .uploadChecksumMismatch(let expected, let actual): "upload has SHA-256 \(actual), expected \(expected)"
        case .injectedFault(let point): "injected fault at \(point)"
        case .jobNotFound(let id): "unknown job '\(id)'"
        }
    }
}
