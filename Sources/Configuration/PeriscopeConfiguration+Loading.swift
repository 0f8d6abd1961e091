import Foundation

// MARK: - Loading the layers

extension PeriscopeConfiguration {
    /// The environment variable naming the configuration file when `--config` is not given.
    public static let fileEnvironmentVariable = "PERISCOPE_CONFIG"

    /// Loads defaults < `file` (or `$PERISCOPE_CONFIG`; none: defaults only) < `PERISCOPE_*`
    /// variables in `environment` < `flags` (setting key → text, e.g. `["db_path": "/x.db"]`).
    /// `flagName` turns a key into the flag's spelling for error messages.
    /// Relative paths are taken relative to the current directory.
    public static func load(file: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                            flags: [String: String] = [:],
                            flagName: (String) -> String = { "--" + $0.replacingOccurrences(of: "_", with: "-") }) throws(ConfigurationError) -> PeriscopeConfiguration {
        var layers: [ConfigurationLayer] = []
        if let path = file ?? environment[fileEnvironmentVariable].flatMap({ $0.isEmpty ? nil : $0 }) {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw .unreadableFile(path: path, reason: (error as NSError).localizedDescription)
            }
            let value: ConfigurationValue
            do {
                value = try JSONDecoder().decode(ConfigurationValue.self, from: data)
            } catch {
                throw .invalidJSON(path: path, reason: "\(error)")
            }
            var layer = ConfigurationLayer()
            try layer.addFile(value, source: path)
            layers.append(layer)
        }
        var environmentLayer = ConfigurationLayer()
        try environmentLayer.addEnvironment(environment)
        layers.append(environmentLayer)
        var flagLayer = ConfigurationLayer()
        try flagLayer.addFlags(flags, flagName: flagName)
        layers.append(flagLayer)
        return try build(from: layers, environment: environment)
    }

    /// Applies `layers` in order over the defaults and resolves automatic values and paths.
    static func build(from layers: [ConfigurationLayer], environment: [String: String]) throws(ConfigurationError) -> PeriscopeConfiguration {
        var configuration = unresolved(environment: environment)
        for layer in layers {
            for (key, value) in layer.values.sorted(by: { $0.key < $1.key }) {
                PeriscopeConfiguration.setting(named: key)!.store(&configuration, value)
            }
        }
        if configuration.dataDirectory.isEmpty { configuration.dataDirectory = defaultDataDirectory(environment: environment) }
        return resolved(configuration)
    }

    /// Fills automatic counts (0) and derived paths, and makes paths absolute.
    static func resolved(_ input: PeriscopeConfiguration) -> PeriscopeConfiguration {
        var configuration = input
        let processors = max(1, ProcessInfo.processInfo.activeProcessorCount)
        if configuration.workers == 0 { configuration.workers = max(1, processors / 2) }
        if configuration.intraOpThreads == 0 { configuration.intraOpThreads = max(1, processors / configuration.workers) }
        if configuration.preprocessing.threads == 0 { configuration.preprocessing.threads = processors }
        configuration.dataDirectory = absolute(configuration.dataDirectory)
        if configuration.databasePath.isEmpty { configuration.databasePath = configuration.dataDirectory + "/registry.sqlite3" }
        if configuration.modelRoot.isEmpty { configuration.modelRoot = configuration.dataDirectory + "/models" }
        configuration.databasePath = absolute(configuration.databasePath)
        configuration.modelRoot = absolute(configuration.modelRoot)
        if configuration.jobs.dataRoot.isEmpty { configuration.jobs.dataRoot = configuration.dataDirectory + "/jobs" }
        configuration.jobs.dataRoot = absolute(configuration.jobs.dataRoot)
        if configuration.cache.path.isEmpty { configuration.cache.path = configuration.dataDirectory + "/cache.sqlite3" }
        configuration.cache.path = absolute(configuration.cache.path)
        configuration.authTokensFile = configuration.authTokensFile.map(absolute)
        configuration.demo.minilmDirectory = configuration.demo.minilmDirectory.map(absolute)
        return configuration
    }

    private static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        let full = expanded.hasPrefix("/") ? expanded : FileManager.default.currentDirectoryPath + "/" + expanded
        return (full as NSString).standardizingPath
    }
}
