/// A strict reader of the Prometheus text format 0.0.4 for tests: checks every line's grammar
/// (names, label syntax and escapes, values), that HELP/TYPE come before a family's samples and
/// that sample names belong to the declared type, and returns the samples.
struct ExpositionParser {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Failure: Error, CustomStringConvertible {
        var line: Int
        var reason: String
        var description: String { "line \(line): \(reason)" }
    }

    static func parse(_ text: String) throws -> (types: [String: String], samples: [Sample]) {
        var types: [String: String] = [:], helps: Set<String> = []
        var samples: [Sample] = []
        guard text.isEmpty || text.hasSuffix("\n") else { throw Failure(line: 0, reason: "no final line feed") }
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            let number = index + 1
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                guard let space = rest.firstIndex(of: " ") else { throw Failure(line: number, reason: "HELP without text") }
                let name = String(rest[..<space])
                guard isName(name), helps.insert(name).inserted else { throw Failure(line: number, reason: "bad or repeated HELP for \(name)") }
                // Only \\ and \n escapes are allowed in HELP.
                var escaped = false
                for character in rest[rest.index(after: space)...] {
                    if escaped { guard character == "\\" || character == "n" else { throw Failure(line: number, reason: "bad HELP escape") }; escaped = false }
                    else if character == "\\" { escaped = true }
                }
                continue
            }
            if line.hasPrefix("# TYPE ") {
                let words = line.dropFirst(7).split(separator: " ")
                guard words.count == 2, isName(String(words[0])), ["counter", "gauge", "histogram", "summary", "untyped"].contains(words[1]),
                      types[String(words[0])] == nil else { throw Failure(line: number, reason: "bad TYPE line") }
                guard !samples.contains(where: { $0.name.hasPrefix(String(words[0])) && family(of: $0.name, types: types) == String(words[0]) }) else {
                    throw Failure(line: number, reason: "TYPE after samples of \(words[0])")
                }
                types[String(words[0])] = String(words[1])
                continue
            }
            guard !line.hasPrefix("#") else { continue }
            var cursor = line.startIndex
            while cursor < line.endIndex, line[cursor] != "{", line[cursor] != " " { cursor = line.index(after: cursor) }
            let name = String(line[..<cursor])
            guard isName(name) else { throw Failure(line: number, reason: "bad metric name '\(name)'") }
            guard let familyName = family(of: name, types: types) else { throw Failure(line: number, reason: "sample \(name) before its TYPE") }
            var labels: [String: String] = [:]
            if cursor < line.endIndex, line[cursor] == "{" {
                cursor = line.index(after: cursor)
                while line[cursor] != "}" {
                    var labelEnd = cursor
                    while line[labelEnd] != "=" { labelEnd = line.index(after: labelEnd) }
                    let label = String(line[cursor..<labelEnd])
                    guard isName(label), !label.contains(":") else { throw Failure(line: number, reason: "bad label name '\(label)'") }
                    cursor = line.index(after: labelEnd)
                    guard line[cursor] == "\"" else { throw Failure(line: number, reason: "label value not quoted") }
                    cursor = line.index(after: cursor)
                    var value = ""
                    while line[cursor] != "\"" {
                        if line[cursor] == "\\" {
                            cursor = line.index(after: cursor)
                            switch line[cursor] {
                            case "\\": value.append("\\")
                            case "\"": value.append("\"")
                            case "n": value.append("\n")
                            default: throw Failure(line: number, reason: "bad label escape")
                            }
                        } else {
                            value.append(line[cursor])
                        }
                        cursor = line.index(after: cursor)
                    }
                    guard labels.updateValue(value, forKey: label) == nil else { throw Failure(line: number, reason: "repeated label \(label)") }
                    cursor = line.index(after: cursor)
                    if line[cursor] == "," { cursor = line.index(after: cursor) }
                }
                cursor = line.index(after: cursor)
            }
            guard cursor < line.endIndex, line[cursor] == " " else { throw Failure(line: number, reason: "no space before the value") }
            let valueText = line[line.index(after: cursor)...]
            let value: Double? = switch valueText {
            case "+Inf": .infinity
            case "-Inf": -.infinity
            case "NaN": .nan
            default: Double(valueText)
            }
            guard let value else { throw Failure(line: number, reason: "bad value '\(valueText)'") }
            if types[familyName] == "histogram" && name.hasSuffix("_bucket") && labels["le"] == nil {
                throw Failure(line: number, reason: "bucket without le")
            }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
        return (types, samples)
    }

    /// The declared family a sample name belongs to (histograms add _bucket/_sum/_count).
    static func family(of name: String, types: [String: String]) -> String? {
        if types[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if types[base] == "histogram" { return base }
        }
        return nil
    }

    static func isName(_ name: String) -> Bool { MetricsRegistryTests.nameIsValid(name) }
}
