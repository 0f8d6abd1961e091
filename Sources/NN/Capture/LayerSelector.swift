/// One entry of a capture request's layer list, as a client writes it.
///
/// A name is one of:
/// - an exact layer name from the catalog, with torchvision FX suffixes for repeated calls
///   (`layer1.0.relu` is the first call of that module, `layer1.0.relu_1` the second);
/// - a module path, meaning that module's output — containers included (`layer3`, `encoder`);
/// - a glob over dotted names: `*` matches within one path segment, `**` across segments,
///   `?` one character, `[abc]` a character class (`layer4.*.relu`, `encoder.layer.*.output`);
/// - `output`, the model's final output;
/// - any of the above (except `output`) followed by `:input`, for the input of that layer.
///
/// An index counts into the catalog's ordered layer list; negative indices count from the end
/// (`-1` is the last layer to start running).
public enum LayerSelector: Sendable, Hashable, Codable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, CustomStringConvertible {
    case name(String)
    case index(Int)

    /// The special name of the model's final output.
    public static let outputName = "output"
    /// The suffix that selects a layer's input instead of its output.
    public static let inputSuffix = ":input"

    public init(stringLiteral value: String) { self = .name(value) }

    public init(integerLiteral value: Int) { self = .index(value) }

    public var description: String {
        switch self {
        case .name(let name): name
        case .index(let index): String(index)
        }
    }

    /// Decodes a JSON string or integer, the two forms a request's `layers` array may hold.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let index = try? container.decode(Int.self) {
            self = .index(index)
        } else {
            self = .name(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .name(let name): try container.encode(name)
        case .index(let index): try container.encode(index)
        }
    }
}
