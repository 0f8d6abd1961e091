/// A capture request resolved against a `LayerCatalog`: exactly which module calls to capture.
///
/// Resolving is pure and `Sendable`, so the service validates a request (unknown names → an error
/// listing the closest valid names) before queueing it, and the worker captures with the result.
public struct LayerSelection: Sendable, Equatable {
    /// One capture point: the output (or input) of one call — or every call — of one module.
    public struct Target: Sendable, Hashable {
        public enum Point: String, Sendable {
            case output
            case input
        }

        /// The module's dotted path.
        public var modulePath: String
        /// Which call (0-based); nil captures every call (`name`, `name_1`, …).
        public var call: Int?
        public var point: Point

        public init(modulePath: String, call: Int?, point: Point = .output) {
            self.modulePath = modulePath
            self.call = call
            self.point = point
        }

        /// The key this target's call `call` is captured under.
        public func name(call: Int) -> String {
            LayerCatalog.layerName(modulePath: modulePath, call: call) + (point == .input ? LayerSelector.inputSuffix : "")
        }
    }

    /// The module calls to capture, in request order, without duplicates.
    public private(set) var targets: [Target] = []
    /// Whether the model's final output (`output`) is requested.
    public private(set) var includesOutput = false

    /// True when every target names exact calls and `output` is not requested: the forward pass
    /// can stop once they have all been captured.
    public var allowsEarlyStop: Bool {
        !includesOutput && targets.allSatisfy { $0.call != nil }
    }

    /// The capture keys, when every target names exact calls.
    public var names: [String] {
        targets.compactMap { target in target.call.map { target.name(call: $0) } } + (includesOutput ? [LayerSelector.outputName] : [])
    }

    /// Resolves `selectors` against `catalog`; throws `CaptureError` for unknown names (with the
    /// closest valid names), globs matching nothing, and out-of-range indices.
    public init(_ selectors: [LayerSelector], in catalog: LayerCatalog) throws {
        guard !selectors.isEmpty else { throw CaptureError.emptySelection }
        for selector in selectors {
            switch selector {
            case .index(let index):
                let position = index < 0 ? index + catalog.layers.count : index
                guard catalog.layers.indices.contains(position) else {
                    throw CaptureError.layerIndexOutOfRange(index, layerCount: catalog.layers.count)
                }
                let layer = catalog.layers[position]
                add(Target(modulePath: layer.modulePath, call: layer.call))
            case .name(let text):
                if text == LayerSelector.outputName {
                    includesOutput = true
                    continue
                }
                let isInput = text.hasSuffix(LayerSelector.inputSuffix)
                let name = isInput ? String(text.dropLast(LayerSelector.inputSuffix.count)) : text
                let point: Target.Point = isInput ? .input : .output
                if LayerSelection.isGlob(name) {
                    let matches = catalog.layers.filter { LayerSelection.glob(name, matches: $0.name) }
                    guard !matches.isEmpty else {
                        throw CaptureError.noMatchingLayers(pattern: text, closest: LayerSelection.closestNames(to: name, in: catalog))
                    }
                    for layer in matches {
                        // A static catalog does not know the call counts: capture every call.
                        add(Target(modulePath: layer.modulePath, call: catalog.isTraced ? layer.call : nil, point: point))
                    }
                } else if let layer = catalog.layer(named: name) {
                    add(Target(modulePath: layer.modulePath, call: layer.call, point: point))
                } else if !catalog.isTraced, let (path, call) = LayerSelection.repeatedCall(name, in: catalog) {
                    add(Target(modulePath: path, call: call, point: point))
                } else {
                    throw CaptureError.unknownLayer(text, closest: LayerSelection.closestNames(to: name, in: catalog))
                }
            }
        }
    }

    private mutating func add(_ target: Target) {
        if !targets.contains(target) { targets.append(target) }
    }

    /// `path_k` (k ≥ 1) for a module path of a static catalog: call k of that module.
    private static func repeatedCall(_ name: String, in catalog: LayerCatalog) -> (String, Int)? {
        guard let underscore = name.lastIndex(of: "_"),
              let call = Int(name[name.index(after: underscore)...]), call >= 1,
              name[name.index(after: underscore)...].allSatisfy(\.isASCII) else { return nil }
        let path = String(name[..<underscore])
        return catalog.modulePaths.contains(path) ? (path, call) : nil
    }

    // MARK: - Globs

    static func isGlob(_ text: String) -> Bool {
        text.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    /// Dotted-path glob: `*` within a segment, `**` across segments, `?` one non-dot character,
    /// `[...]` a class (`[!...]` or `[^...]` negated).
    static func glob(_ pattern: String, matches name: String) -> Bool {
        let p = Array(pattern), s = Array(name)
        // Memoized recursion over (pattern index, name index); names are short.
        var memo = [Int: Bool]()
        func match(_ i: Int, _ j: Int) -> Bool {
            let key = i * (s.count + 1) + j
            if let known = memo[key] { return known }
            let result: Bool
            if i == p.count {
                result = j == s.count
            } else if p[i] == "*" {
                let crossesDots = i + 1 < p.count && p[i + 1] == "*"
                let next = crossesDots ? i + 2 : i + 1
                var k = j
                var found = match(next, k)
                while !found && k < s.count && (crossesDots || s[k] != ".") {
                    k += 1
                    found = match(next, k)
                }
                result = found
            } else if j == s.count {
                result = false
            } else if p[i] == "?" {
                result = s[j] != "." && match(i + 1, j + 1)
            } else if p[i] == "[", let close = p[(i + 1)...].firstIndex(of: "]"), close > i + 1 {
                var members = Array(p[(i + 1)..<close])
                let negated = members.first == "!" || members.first == "^"
                if negated { members.removeFirst() }
                var inClass = false
                var m = 0
                while m < members.count {
                    if m + 2 < members.count && members[m + 1] == "-" {
                        if members[m] <= s[j] && s[j] <= members[m + 2] { inClass = true }
                        m += 3
                    } else {
                        if members[m] == s[j] { inClass = true }
                        m += 1
                    }
                }
                result = inClass != negated && s[j] != "." && match(close + 1, j + 1)
            } else {
                result = p[i] == s[j] && match(i + 1, j + 1)
            }
            memo[key] = result
            return result
        }
        return match(0, 0)
    }

    // MARK: - Suggestions

    /// Up to `limit` valid names nearest to `name` by edit distance (ties in catalog order).
    static func closestNames(to name: String, in catalog: LayerCatalog, limit: Int = 5) -> [String] {
        var candidates = catalog.names
        for path in catalog.modulePaths where !candidates.contains(path) { candidates.append(path) }
        candidates.append(LayerSelector.outputName)
        let target = Array(name)
        let scored = candidates.enumerated().map { (offset, candidate) in
            (distance: editDistance(target, Array(candidate)), offset: offset, name: candidate)
        }
        return scored.sorted { ($0.distance, $0.offset) < ($1.distance, $1.offset) }.prefix(limit).map(\.name)
    }

    /// Levenshtein distance.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
