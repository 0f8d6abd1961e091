/// Why a model could not be built, loaded or run: every case names the offending architecture,
/// field, file, weight key or input, since these errors reach HTTP clients and CLI users as they are.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No architecture has this name; `known` lists the valid names.
    case unknownArchitecture(String, known: [String])
    /// A configuration field is missing, of the wrong type or out of range.
    case invalidConfiguration(field: String, expected: String)
    /// A configuration field this architecture does not have (a typo, usually).
    case unknownConfigurationField(String, architecture: String, known: [String])
    /// The configuration's own `architecture` key disagrees with the architecture asked for.
    case conflictingArchitecture(requested: String, configuration: String)
    /// A file could not be read or parsed.
    case unreadableFile(path: String, reason: String)
    /// The weights do not fit the architecture: keys the model needs that the file lacks, keys the
    /// file has that the model does not know.
    case weightsMismatch(missing: [String], unexpected: [String])
    /// A weight has the wrong shape for the architecture.
    case weightShapeMismatch(key: String, expected: [Int], found: [Int])
    /// A required input tensor is absent.
    case missingInput(String, expected: String)
    /// An input name the model does not take.
    case unexpectedInput(String, known: [String])
    /// An input tensor has the wrong dtype, shape or values.
    case invalidInput(name: String, reason: String)
    /// Text was given to a model without a tokenizer (no `vocab.txt`), or to a vision model.
    case textInputUnsupported(architecture: String)
    /// The model cannot compute in the requested precision here (the CPU lacks a feature, or the
    /// architecture has no layers of that precision).
    case unsupportedPrecision(String, reason: String)

    public var description: String {
        switch self {
        case let .unknownArchitecture(name, known):
            "unknown architecture '\(name)'; known architectures: " + known.joined(separator: ", ")
        case let .invalidConfiguration(field, expected):
            "\(field): expected \(expected)"
        case let .unknownConfigurationField(field, architecture, known):
            "\(field): not a field of the \(architecture) configuration (fields: " + known.joined(separator: ", ") + ")"
        case let .conflictingArchitecture(requested, configuration):
            "architecture: the configuration says '\(configuration)' but '\(requested)' was requested"
        case let .unreadableFile(path, reason):
            "\(path): \(reason)"
        case let .weightsMismatch(missing, unexpected):
            "the weights do not match the architecture ("
                + [missing.isEmpty ? nil : "missing keys: " + ModelError.list(missing),
                   unexpected.isEmpty ? nil : "unexpected keys: " + ModelError.list(unexpected)]
                .compactMap { $0 }.joined(separator: "; ") + ")"
        case let .weightShapeMismatch(key, expected, found):
            "weight \(key): the architecture needs shape \(expected), the file has \(found)"
        case let .missingInput(name, expected):
            "missing input '\(name)' (expected \(expected))"
        case let .unexpectedInput(name, known):
            "unexpected input '\(name)'; this model takes: " + known.joined(separator: ", ")
        case let .invalidInput(name, reason):
            "input '\(name)': \(reason)"
        case let .textInputUnsupported(architecture):
            "\(architecture): this model takes no text (text needs a BERT model directory with vocab.txt)"
        case let .unsupportedPrecision(precision, reason):
            "precision \(precision): \(reason)"
        }
    }

    /// At most 12 names, then a count: a mismatched checkpoint can have hundreds of keys.
    private static func list(_ names: [String]) -> String {
        names.count <= 12 ? names.joined(separator: ", ") : names.prefix(12).joined(separator: ", ") + ", … (\(names.count) in all)"
    }
}
