import Configuration

// MARK: - Configuration flags shared by commands

extension CommandLineArguments {
    /// Flags every command that touches the registry accepts, mapped to configuration keys.
    package static let registryConfigurationFlags = ["db": "db_path", "model-root": "model_root", "data-dir": "data_dir"]

    /// Loads the configuration: `--config FILE` (or `--<fileFlag>`; also `--config-file`, else
    /// `$PERISCOPE_CONFIG`), the environment, then the given flags (flag name → configuration key),
    /// consuming them.
    package mutating func configuration(fileFlag: String = "config", flags: [String: String] = registryConfigurationFlags) throws -> PeriscopeConfiguration {
        var file = try option("config-file")
        if fileFlag != "config-file", let named = try option(fileFlag) { file = named }
        var values: [String: String] = [:]
        var spelling: [String: String] = [:]
        for (flag, key) in flags.sorted(by: { $0.key < $1.key }) {
            spelling[key] = "--" + flag
            if let value = try option(flag) { values[key] = value }
        }
        return try PeriscopeConfiguration.load(file: file, flags: values, flagName: { spelling[$0] ?? $0 })
    }
}
