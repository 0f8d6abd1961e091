/// Method and path-pattern matching, with a value per route: the part of routing that knows
/// nothing of what a route means. `Router` keeps responders in one; the service keeps its route
/// table's entries, so that one match answers routing, authorization and metrics alike.
///
/// Patterns are `/`-separated segments; `{name}` matches one segment (percent-decoded, so `%2F`
/// stays inside it). Literal segments win over parameters: `/v2/models/{m}/ready` and
/// `/v2/models/{m}/versions/{v}` coexist. Empty segments are ignored, so `/healthz/` matches
/// `/healthz`. HEAD matches a GET route when the path has no HEAD route.
public struct PathTrie<Value: Sendable>: Sendable {
    /// A node of the trie; children are indices into `nodes`. Small arrays searched linearly beat
    /// hashing here: a node has a handful of children and methods.
    private struct Node: Sendable {
        var literals: [(segment: String, node: Int)] = []
        var parameter: Int?
        var routes: [(method: HTTPMethod, parameterNames: [String], value: Value)] = []

        func literal(_ segment: Substring) -> Int? {
            for entry in literals where entry.segment.utf8.elementsEqual(segment.utf8) { return entry.node }
            return nil
        }

        func route(_ method: HTTPMethod) -> (parameterNames: [String], value: Value)? {
            for entry in routes where entry.method == method { return (entry.parameterNames, entry.value) }
            return nil
        }
    }

    /// The outcome of matching a method and path.
    public enum Match {
        case found(Value, parameters: [String: String])
        /// The path is known, the method is not: the methods it allows (sorted, HEAD with GET) and
        /// the values of its routes.
        case methodNotAllowed(allowed: [HTTPMethod], routes: [Value])
        case notFound
    }

    private var nodes = [Node()]

    public init() {}

    /// Adds `value` for `method` and `pattern`. The same method and pattern twice, a repeated
    /// parameter name or a malformed segment is a programming error.
    public mutating func insert(_ method: HTTPMethod, _ pattern: String, _ value: Value) {
        var node = 0
        var parameterNames: [String] = []
        for segment in pattern.split(separator: "/") {
            if segment.hasPrefix("{") && segment.hasSuffix("}") && segment.count > 2 {
                let name = String(segment.dropFirst().dropLast())
                precondition(!parameterNames.contains(name), "route '\(pattern)' repeats parameter '\(name)'")
                parameterNames.append(name)
                if let next = nodes[node].parameter {
                    node = next
                } else {
                    nodes.append(Node())
                    nodes[node].parameter = nodes.count - 1
                    node = nodes.count - 1
                }
            } else {
                precondition(!segment.contains("{") && !segment.contains("}"), "route '\(pattern)': malformed segment '\(segment)'")
                if let next = nodes[node].literal(segment) {
                    node = next
                } else {
                    nodes.append(Node())
                    nodes[node].literals.append((String(segment), nodes.count - 1))
                    node = nodes.count - 1
                }
            }
        }
        precondition(nodes[node].route(method) == nil, "route \(method) '\(pattern)' registered twice")
        nodes[node].routes.append((method, parameterNames, value))
    }

    /// Matches `method` and the raw (still percent-encoded) path: one walk of the path.
    public func match(method: HTTPMethod, rawPath: String) -> Match {
        // Split on the UTF-8 bytes ('/' is never part of a multi-byte character).
        var segments: [Substring] = []
        segments.reserveCapacity(8)
        let utf8 = rawPath.utf8
        var start = utf8.startIndex
        var index = start
        while index != utf8.endIndex {
            if utf8[index] == UInt8(ascii: "/") {
                if index != start { segments.append(rawPath[start..<index]) }
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        if start != utf8.endIndex { segments.append(rawPath[start..<utf8.endIndex]) }
        var values: [Substring] = []
        guard let node = find(node: 0, segments: segments[...], values: &values) else { return .notFound }
        let found = nodes[node]
        guard let route = found.route(method) ?? (method == .head ? found.route(.get) : nil) else {
            var allowed = Set(found.routes.map(\.method))
            if allowed.contains(.get) { allowed.insert(.head) }
            return .methodNotAllowed(allowed: allowed.sorted { $0.rawValue < $1.rawValue }, routes: found.routes.map(\.value))
        }
        var parameters: [String: String] = [:]
        for (name, value) in zip(route.parameterNames, values) {
            parameters[name] = (try? percentDecoded(value, plusIsSpace: false)) ?? String(value)
        }
        return .found(route.value, parameters: parameters)
    }

    /// Depth-first over the trie, literals before parameters; the first node that matches the
    /// whole path and has any route wins. `values` collects the parameter segments on the way.
    private func find(node: Int, segments: ArraySlice<Substring>, values: inout [Substring]) -> Int? {
        guard let segment = segments.first else { return nodes[node].routes.isEmpty ? nil : node }
        let rest = segments.dropFirst()
        // Literal segments are compared raw (still encoded): patterns only hold unreserved characters.
        if let next = nodes[node].literal(segment), let found = find(node: next, segments: rest, values: &values) {
            return found
        }
        if let next = nodes[node].parameter {
            values.append(segment)
            if let found = find(node: next, segments: rest, values: &values) { return found }
            values.removeLast()
        }
        return nil
    }
}
