/// The values one source (file, environment, flags) sets, already parsed and checked.
struct ConfigurationLayer {
    /// Key → value, for the keys this source sets.
    var values: [String: ConfigurationSetting.Value] = [:]

    /// Adds the settings of a parsed configuration file (a JSON object, groups as nested objects).
    mutating func addFile(_ value: ConfigurationValue, source: String) throws(ConfigurationError) {
        guard case .object(let object) = value else { throw .invalidJSON(path: source, reason: "the top level is \(value.text)") }
        try add(object, prefix: "", source: source)
    }

    private mutating func add(_ object: [String: ConfigurationValue], prefix: String, source: String) throws(ConfigurationError) {
        for (name, value) in object.sorted(by: { $0.key < $1.key }) {
            let key = prefix + name
            if let setting = PeriscopeConfiguration.setting(named: key) {
                values[key] = try setting.parse(value, source: source)
            } else if PeriscopeConfiguration.settings.contains(where: { $0.key.hasPrefix(key + ".") }) {
                guard case .object(let group) = value else {
                    throw .invalidValue(key: key, value: value.text, expected: "an object", source: source)
                }
                try add(group, prefix: key + ".", source: source)
            } else {
                throw .unknownKey(key: key, source: source, suggestion: Self.closestKey(to: key))
            }
        }
    }

    /// Adds `PERISCOPE_*` variables that name a setting. Other variables are ignored
    /// (`PERISCOPE_CONFIG` names the file; the rest may belong to other tools).
    mutating func addEnvironment(_ environment: [String: String]) throws(ConfigurationError) {
        for setting in PeriscopeConfiguration.settings {
            guard let text = environment[setting.environmentVariable] else { continue }
            values[setting.key] = try setting.parse(text: text, source: "environment variable \(setting.environmentVariable)")
        }
    }

    /// Adds command-line values, keyed by setting key (`db_path`), `flagName(key)` naming the flag.
    mutating func addFlags(_ flags: [String: String], flagName: (String) -> String) throws(ConfigurationError) {
        for (key, text) in flags.sorted(by: { $0.key < $1.key }) {
            guard let setting = PeriscopeConfiguration.setting(named: key) else {
                throw .unknownKey(key: key, source: "command-line flag \(flagName(key))", suggestion: Self.closestKey(to: key))
            }
            values[key] = try setting.parse(text: text, source: "command-line flag \(flagName(key))")
        }
    }

    /// The known key nearest to `key` by edit distance, when it is near enough to be a typo.
    static func closestKey(to key: String) -> String? {
        let scored = PeriscopeConfiguration.settings.map { ($0.key, editDistance(Array(key), Array($0.key))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, key.count / 3) else { return nil }
        return best.0
    }

    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}
