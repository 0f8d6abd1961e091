import Service

/// The arguments of one `periscope` subcommand (or of `periscope-bench`): `--name value` options,
/// `--flag` switches and positional words, consumed by the command; whatever is left at `finish()`
/// is an error.
package struct CommandLineArguments {
    private var words: [String]
    private var consumed: Set<Int> = []

    package init(_ words: [String]) { self.words = words }

    /// The value of `--name value` or `--name=value` (the last occurrence wins).
    package mutating func option(_ name: String) throws -> String? {
        var value: String?
        for (i, word) in words.enumerated() where !consumed.contains(i) {
            if word == "--\(name)" {
                guard i + 1 < words.count, !consumed.contains(i + 1) else {
                    throw CommandLineError.missingValue(option: name)
                }
                value = words[i + 1]
                consumed.formUnion([i, i + 1])
            } else if word.hasPrefix("--\(name)=") {
                value = String(word.dropFirst(name.count + 3))
                consumed.insert(i)
            }
        }
        return value
    }

    /// Every value of a repeatable `--name value` (or `--name=value`) option, in order.
    package mutating func options(_ name: String) throws -> [String] {
        var values: [String] = []
        while let value = try firstOption(name) { values.append(value) }
        return values
    }

    /// Consumes the first occurrence of `--name value` / `--name=value`.
    private mutating func firstOption(_ name: String) throws -> String? {
        for (i, word) in words.enumerated() where !consumed.contains(i) {
            if word == "--\(name)" {
                guard i + 1 < words.count, !consumed.contains(i + 1) else { throw CommandLineError.missingValue(option: name) }
                consumed.formUnion([i, i + 1])
                return words[i + 1]
            } else if word.hasPrefix("--\(name)=") {
                consumed.insert(i)
                return String(word.dropFirst(name.count + 3))
            }
        }
        return nil
    }

    /// `--name value` parsed as an integer.
    package mutating func integerOption(_ name: String) throws -> Int? {
        guard let text = try option(name) else { return nil }
        guard let value = Int(text) else { throw CommandLineError.invalidValue(option: name, value: text, expected: "an integer") }
        return value
    }

    /// `--name N` with N an integer above zero.
    package mutating func positiveIntegerOption(_ name: String) throws -> Int? {
        guard let value = try integerOption(name) else { return nil }
        guard value > 0 else { throw CommandLineError.invalidValue(option: name, value: String(value), expected: "a positive integer") }
        return value
    }

    /// `--name X` with X a number above zero.
    package mutating func positiveNumberOption(_ name: String) throws -> Double? {
        guard let text = try option(name) else { return nil }
        guard let value = Double(text), value > 0 else { throw CommandLineError.invalidValue(option: name, value: text, expected: "a positive number") }
        return value
    }

    /// True when `--name` is present.
    package mutating func flag(_ name: String) -> Bool {
        guard let i = words.indices.first(where: { !consumed.contains($0) && words[$0] == "--\(name)" }) else { return false }
        consumed.insert(i)
        return true
    }

    /// The next positional word (one not starting with `--`), if any.
    package mutating func positional() -> String? {
        guard let i = words.indices.first(where: { !consumed.contains($0) && !words[$0].hasPrefix("--") }) else { return nil }
        consumed.insert(i)
        return words[i]
    }

    /// The next positional word, or an error naming what was expected.
    package mutating func requiredPositional(_ what: String) throws -> String {
        guard let word = positional() else { throw CommandLineError.missingArgument(what) }
        return word
    }

    /// The words not consumed yet, in order, consuming them: for a command that hands its arguments
    /// on unread (`bench`, to the `periscope-bench` executable).
    package mutating func remainingWords() -> [String] {
        let left = words.indices.filter { !consumed.contains($0) }
        consumed.formUnion(left)
        return left.map { words[$0] }
    }

    /// Fails when any argument was not consumed (a typo, an option this command does not take).
    package func finish() throws {
        let left = words.indices.filter { !consumed.contains($0) }.map { words[$0] }
        if !left.isEmpty { throw CommandLineError.unexpected(left) }
    }
}

/// The commands' argument errors are those the dataset extraction (in Service) reports.
package typealias CommandLineError = Service.CommandLineError
