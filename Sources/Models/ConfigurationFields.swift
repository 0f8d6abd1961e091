import Foundation

/// Reads an architecture configuration (a JSON object) field by field, turning every problem into a
/// `ModelError` that names the field and what was expected — `layers: expected an array of 4
/// positive integers` — instead of a `DecodingError` coding path. JSON `null` counts as absent.
///
/// The architectures' `Configuration.init(from:)` use it:
///
///     let fields = try ConfigurationFields(decoder, architecture: "resnet", known: [...])
///     numClasses = try fields.value("num_classes", expected: "a positive integer", default: 1000) { $0 > 0 }
struct ConfigurationFields {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private let container: KeyedDecodingContainer<Key>

    /// The fields of the object `decoder` holds. With `known`, any other field is an error
    /// (`architecture` and keys starting with `_` are always allowed: metadata).
    init(_ decoder: any Decoder, architecture: String, known: [String]? = nil) throws {
        do {
            container = try decoder.container(keyedBy: Key.self)
        } catch {
            throw ModelError.invalidConfiguration(field: "configuration", expected: "a JSON object")
        }
        if let known {
            let allowed = Set(known + ["architecture"])
            if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !allowed.contains($0) && !$0.hasPrefix("_") }) {
                throw ModelError.unknownConfigurationField(unknown, architecture: architecture, known: known)
            }
        }
    }

    /// True when `name` is present and not null.
    func contains(_ name: String) -> Bool {
        let key = Key(name)
        return container.contains(key) && ((try? container.decodeNil(forKey: key)) == false)
    }

    /// True when `name` is present with the value `null`.
    func isNull(_ name: String) -> Bool {
        let key = Key(name)
        return container.contains(key) && ((try? container.decodeNil(forKey: key)) == true)
    }

    /// The value of `name`, or `defaultValue` when absent; `isValid` rejects out-of-range values.
    func value<Value: Decodable>(_ name: String, expected: String, default defaultValue: Value? = nil,
                                 isValid: (Value) -> Bool = { _ in true }) throws -> Value {
        guard contains(name) else {
            if let defaultValue { return defaultValue }
            throw ModelError.invalidConfiguration(field: name, expected: expected)
        }
        let decoded: Value
        do {
            decoded = try container.decode(Value.self, forKey: Key(name))
        } catch {
            throw ModelError.invalidConfiguration(field: name, expected: expected)
        }
        guard isValid(decoded) else { throw ModelError.invalidConfiguration(field: name, expected: expected) }
        return decoded
    }

    /// The value of `name`, or nil when absent or null.
    func optionalValue<Value: Decodable>(_ name: String, expected: String, isValid: (Value) -> Bool = { _ in true }) throws -> Value? {
        guard contains(name) else { return nil }
        return try value(name, expected: expected, isValid: isValid)
    }

    /// A string field that must be one of `choices`.
    func choice(_ name: String, from choices: [String], default defaultValue: String? = nil) throws -> String {
        let expected = "one of " + choices.map { "\"\($0)\"" }.joined(separator: ", ")
        return try value(name, expected: expected, default: defaultValue) { choices.contains($0) }
    }
}
