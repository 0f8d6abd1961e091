import Foundation
import Testing
@testable import Configuration

@Suite struct PeriscopeConfigurationTests {
    /// The package root, to read `Config/periscope.json` and `docs/configuration.md`.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let environment = ["HOME": "/home/test"]

    static func temporaryFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "periscope-config-" + UUID().uuidString + ".json"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    // MARK: - Defaults

    @Test func defaultsWithoutAnything() throws {
        let configuration = try PeriscopeConfiguration.load(environment: Self.environment)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8080)
        let processors = ProcessInfo.processInfo.activeProcessorCount
        #expect(configuration.workers == max(1, processors / 2))
        #expect(configuration.intraOpThreads == max(1, processors / configuration.workers))
        #expect(configuration.dataDirectory == "/home/test/.local/share/periscope")
        #expect(configuration.databasePath == "/home/test/.local/share/periscope/registry.sqlite3")
        #expect(configuration.modelRoot == "/home/test/.local/share/periscope/models")
        #expect(configuration.logLevel == .info)
        #expect(configuration.authTokensFile == nil)
        #expect(configuration.batching == .init())
        #expect(configuration.http == .init())
        #expect(configuration.preprocessing.threads == processors && configuration.preprocessing.queueSize == 64)
    }

    @Test func preprocessingStageFromFileAndEnvironment() throws {
        let file = try Self.temporaryFile(#"{"preprocessing": {"threads": 3, "queue_size": 0}}"#)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let fromFile = try PeriscopeConfiguration.load(file: file, environment: Self.environment)
        #expect(fromFile.preprocessing.threads == 3 && fromFile.preprocessing.queueSize == 0)
        var environment = Self.environment
        environment["PERISCOPE_PREPROCESSING_QUEUE_SIZE"] = "5"
        let overridden = try PeriscopeConfiguration.load(file: file, environment: environment)
        #expect(overridden.preprocessing.threads == 3 && overridden.preprocessing.queueSize == 5)
    }

    @Test func dataDirectoryFollowsXDG() throws {
        let configuration = try PeriscopeConfiguration.load(environment: ["XDG_DATA_HOME": "/xdg", "HOME": "/home/test"])
        #expect(configuration.dataDirectory == "/xdg/periscope")
        #expect(configuration.modelRoot == "/xdg/periscope/models")
    }

    /// `Config/periscope.json` holds every setting at its default: loading it changes nothing.
    @Test func shippedFileIsTheDefaults() throws {
        let path = Self.packageRoot.appendingPathComponent("Config/periscope.json").path
        let fromFile = try PeriscopeConfiguration.load(file: path, environment: Self.environment)
        #expect(fromFile == (try PeriscopeConfiguration.load(environment: Self.environment)))
        // And it names every key: the flattened keys of the file are exactly the table's.
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        func keys(_ object: [String: Any], _ prefix: String) -> [String] {
            object.flatMap { key, value in (value as? [String: Any]).map { keys($0, prefix + key + ".") } ?? [prefix + key] }
        }
        #expect(Set(keys(object, "")) == Set(PeriscopeConfiguration.settings.map(\.key)))
    }

    @Test func decodableReadsTheFileLayer() throws {
        let data = Data(#"{"port": 9000, "batching": {"enabled": true}}"#.utf8)
        let configuration = try JSONDecoder().decode(PeriscopeConfiguration.self, from: data)
        #expect(configuration.port == 9000)
        #expect(configuration.batching.enabled)
        #expect(configuration.batching.maxBatchSize == 8)
    }

    @Test(arguments: ["docs/configuration.md", "README.md"])
    func docsDescribeEverySetting(document: String) throws {
        let docs = try String(contentsOf: Self.packageRoot.appendingPathComponent(document), encoding: .utf8)
        for setting in PeriscopeConfiguration.settings {
            #expect(docs.contains("`\(setting.key)`"), "\(document) lacks \(setting.key)")
            #expect(docs.contains("`\(setting.environmentVariable)`"), "\(document) lacks \(setting.environmentVariable)")
        }
    }

    // MARK: - Layering

    @Test func layersOverrideInOrderDefaultsFileEnvironmentFlags() throws {
        let file = try Self.temporaryFile(#"{"port": 1001, "host": "0.0.0.0", "queue_size": 7, "http": {"max_body_bytes": 100}}"#)
        defer { try? FileManager.default.removeItem(atPath: file) }
        var environment = Self.environment
        environment["PERISCOPE_PORT"] = "1002"
        environment["PERISCOPE_QUEUE_SIZE"] = "8"
        environment["PERISCOPE_HTTP_MAX_BODY_BYTES"] = "200"
        let configuration = try PeriscopeConfiguration.load(file: file, environment: environment, flags: ["port": "1003"])
        #expect(configuration.port == 1003)                 // flag beats environment and file
        #expect(configuration.queueSize == 8)               // environment beats file
        #expect(configuration.http.maxBodyBytes == 200)     // nested keys too
        #expect(configuration.host == "0.0.0.0")            // file beats default
        #expect(configuration.workers >= 1)                 // untouched default
    }

    @Test func configFileCanComeFromTheEnvironment() throws {
        let file = try Self.temporaryFile(#"{"log_level": "debug"}"#)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let configuration = try PeriscopeConfiguration.load(environment: ["PERISCOPE_CONFIG": file, "HOME": "/h"])
        #expect(configuration.logLevel == .debug)
    }

    @Test func derivedPathsFollowTheDataDirectoryUnlessSet() throws {
        var configuration = try PeriscopeConfiguration.load(environment: Self.environment, flags: ["data_dir": "/srv/p"])
        #expect(configuration.databasePath == "/srv/p/registry.sqlite3")
        #expect(configuration.modelRoot == "/srv/p/models")
        configuration = try PeriscopeConfiguration.load(environment: ["PERISCOPE_DATA_DIR": "/srv/p", "PERISCOPE_DB_PATH": "/db/r.sqlite3"], flags: ["model_root": "relative/models"])
        #expect(configuration.databasePath == "/db/r.sqlite3")
        #expect(configuration.modelRoot == FileManager.default.currentDirectoryPath + "/relative/models")
    }

    @Test func nullAndEmptyMeanTheDefault() throws {
        let file = try Self.temporaryFile(#"{"db_path": "/x.db", "auth_tokens_file": "/tokens"}"#)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let configuration = try PeriscopeConfiguration.load(file: file, environment: ["HOME": "/h", "PERISCOPE_DB_PATH": "", "PERISCOPE_AUTH_TOKENS_FILE": "null"])
        #expect(configuration.databasePath == "/h/.local/share/periscope/registry.sqlite3")
        #expect(configuration.authTokensFile == nil)
    }

    @Test func listsAndChoicesFromText() throws {
        let configuration = try PeriscopeConfiguration.load(
            environment: ["HOME": "/h", "PERISCOPE_PRELOAD": "resnet18, minilm@2", "PERISCOPE_LOG_LEVEL": "WARNING", "PERISCOPE_BATCHING_ENABLED": "yes"])
        #expect(configuration.preload == ["resnet18", "minilm@2"])
        #expect(configuration.logLevel == .warning)
        #expect(configuration.batching.enabled)
        let json = try PeriscopeConfiguration.load(environment: ["HOME": "/h", "PERISCOPE_PRELOAD": #"["a", "b"]"#])
        #expect(json.preload == ["a", "b"])
    }

    // MARK: - Errors

    @Test(arguments: [
        (#"{"prot": 80}"#, "prot", "port"),
        (#"{"http": {"max_body_byte": 1}}"#, "http.max_body_byte", "http.max_body_bytes"),
        (#"{"completely_unrelated_thing": 1}"#, "completely_unrelated_thing", nil),
    ] as [(String, String, String?)])
    func unknownKeysAreErrorsNamingTheKey(json: String, key: String, suggestion: String?) throws {
        let file = try Self.temporaryFile(json)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(throws: ConfigurationError.unknownKey(key: key, source: file, suggestion: suggestion)) {
            try PeriscopeConfiguration.load(file: file, environment: Self.environment)
        }
    }

    @Test(arguments: [
        (#"{"port": "8080"}"#, "port", "\"8080\"", "an integer from 0 to 65535"),
        (#"{"port": 70000}"#, "port", "70000", "an integer from 0 to 65535"),
        (#"{"workers": -1}"#, "workers", "-1", "an integer from 0 to 1024"),
        (#"{"log_level": "loud"}"#, "log_level", "\"loud\"", "one of trace, debug, info, notice, warning, error, critical"),
        (#"{"batching": {"enabled": "yes"}}"#, "batching.enabled", "\"yes\"", "true or false"),
        (#"{"batching": 3}"#, "batching", "3", "an object"),
        (#"{"preload": ["a", 1]}"#, "preload", "[\"a\", 1]", "a list of strings"),
        (#"{"host": null}"#, "host", "null", "a string"),
        (#"{"queue_size": 1.5}"#, "queue_size", "1.5", "an integer from 1 to 1000000"),
        (#"{"preprocessing": {"threads": 2000}}"#, "preprocessing.threads", "2000", "an integer from 0 to 1024"),
        (#"{"preprocessing": {"queue_size": -1}}"#, "preprocessing.queue_size", "-1", "an integer from 0 to 1000000"),
    ])
    func badFileValuesAreErrorsNamingTheKey(json: String, key: String, value: String, expected: String) throws {
        let file = try Self.temporaryFile(json)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(throws: ConfigurationError.invalidValue(key: key, value: value, expected: expected, source: file)) {
            try PeriscopeConfiguration.load(file: file, environment: Self.environment)
        }
    }

    @Test func badEnvironmentAndFlagValuesNameTheirSource() throws {
        #expect(throws: ConfigurationError.invalidValue(key: "port", value: "eighty", expected: "an integer from 0 to 65535", source: "environment variable PERISCOPE_PORT")) {
            try PeriscopeConfiguration.load(environment: ["PERISCOPE_PORT": "eighty"])
        }
        #expect(throws: ConfigurationError.invalidValue(key: "workers", value: "many", expected: "an integer from 0 to 1024", source: "command-line flag --workers")) {
            try PeriscopeConfiguration.load(environment: Self.environment, flags: ["workers": "many"])
        }
        #expect(throws: ConfigurationError.unknownKey(key: "prot", source: "command-line flag --prot", suggestion: "port")) {
            try PeriscopeConfiguration.load(environment: Self.environment, flags: ["prot": "1"])
        }
    }

    @Test func unreadableOrMalformedFilesAreErrors() throws {
        #expect {
            try PeriscopeConfiguration.load(file: "/nonexistent/periscope.json", environment: Self.environment)
        } throws: { error in
            if case ConfigurationError.unreadableFile(path: "/nonexistent/periscope.json", _) = error { return true }
            return false
        }
        let file = try Self.temporaryFile("[1, 2]")
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect {
            try PeriscopeConfiguration.load(file: file, environment: Self.environment)
        } throws: { error in
            if case ConfigurationError.invalidJSON(path: file, _) = error { return true }
            return false
        }
    }

    @Test func errorMessagesSayWhatToFix() {
        let message = ConfigurationError.invalidValue(key: "http.max_body_bytes", value: "x", expected: "an integer ≥ 0", source: "environment variable PERISCOPE_HTTP_MAX_BODY_BYTES").description
        #expect(message.contains("http.max_body_bytes") && message.contains("an integer ≥ 0") && message.contains("PERISCOPE_HTTP_MAX_BODY_BYTES"))
        #expect(ConfigurationError.unknownKey(key: "prot", source: "f.json", suggestion: "port").description.contains("did you mean 'port'"))
    }
}
