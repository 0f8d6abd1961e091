/// One step into a JSON document: an object key or an array index.
public enum JSONPathComponent: Sendable, Equatable, CustomStringConvertible {
    case key(String)
    case index(Int)

    public var description: String {
        switch self {
        case .key(let key): key
        case .index(let index): "[\(index)]"
        }
    }

    /// `inputs[0].data[3]` for a path; `$` for the document itself.
    public static func describe(_ path: [JSONPathComponent]) -> String {
        guard !path.isEmpty else { return "$" }
        var text = ""
        for component in path {
            switch component {
            case .key(let key):
                if !text.isEmpty { text += "." }
                text += key
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text
    }
}
