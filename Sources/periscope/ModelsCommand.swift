import CommandLineSupport
import Configuration
import Foundation
import Models
import ONNX
import Registry

// `periscope models add|list|show|remove|set-default|verify …`: the registry from the command
// line, on the same database and model root as the server (same configuration layering), safe
// while it runs (WAL, busy timeout, IMMEDIATE transactions).

/// The `models` subcommands.
enum ModelsCommand {
    static let usage = """
        models add NAME --architecture A --weights PATH [--config C.json] [--precision float32|bfloat16|int8] [--preload] [--description D] [--labels k=v,…] [--in-place]
        models add NAME --onnx MODEL.onnx [--config C.json] [--preload] [--description D] [--labels k=v,…] [--in-place]
          models list | show NAME | remove NAME [--version V] | set-default NAME V|latest | verify NAME [--version V]
          (every models action: [--config-file FILE] [--db PATH] [--model-root DIR] [--data-dir DIR] [--json];
           actions other than add also take --config FILE for the service configuration)
        """

    static func run(_ arguments: inout CommandLineArguments) throws {
        let action = try arguments.requiredPositional("models action (add, list, show, remove, set-default, verify)")
        switch action {
        case "add": try add(&arguments)
        case "list": try list(&arguments)
        case "show": try show(&arguments)
        case "remove": try remove(&arguments)
        case "set-default": try setDefault(&arguments)
        case "verify": try verify(&arguments)
        default: throw CommandLineError.unknownCommand("models \(action)")
        }
    }

    /// Opens the registry the configuration names. The service configuration file comes from
    /// `--config-file`, or `--config` where that flag is not the model's configuration (`add`).
    private static func openRegistry(_ arguments: inout CommandLineArguments, configFlag: String = "config") throws -> ModelRegistry {
        let configuration = try arguments.configuration(fileFlag: configFlag)
        return try ModelRegistry(databasePath: configuration.databasePath, modelRoot: configuration.modelRoot)
    }

    // MARK: - add

    /// Copies the weights (from anywhere) into the model root and registers them; with
    /// `--in-place`, registers a file already under the model root without copying.
    private static func add(_ arguments: inout CommandLineArguments) throws {
        // `--config` is the model's configuration here (as for `extract`), per the CLI contract.
        let configurationFile = try arguments.option("config")
        let registry = try openRegistry(&arguments, configFlag: "config-file")
        // `--onnx FILE` is `--architecture onnx --weights FILE`: the graph file holds the weights.
        let onnx = try arguments.option("onnx")
        guard let architecture = try arguments.option("architecture") ?? (onnx != nil ? "onnx" : nil) else {
            throw CommandLineError.missingArgument("--architecture A (or --onnx MODEL.onnx)")
        }
        guard let weights = try arguments.option("weights") ?? onnx else { throw CommandLineError.missingArgument("--weights PATH") }
        if onnx != nil && architecture != "onnx" {
            throw CommandLineError.unexpected(["--architecture \(architecture) (--onnx registers an ONNX graph)"])
        }
        if onnx != nil {
            // Checked before copying anything: a model that does not load is never registered.
            let configurationData = try configurationFile.map { path -> Data in
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw CommandLineError.invalidValue(option: "config", value: path, expected: "a readable JSON file")
                }
                return data
            }
            _ = try LoadedModel.load(onnx: URL(fileURLWithPath: weights), configuration: configurationData)
        }
        let description = try arguments.option("description")
        let labels = try arguments.option("labels").map(parseLabels)
        let preload = arguments.flag("preload")
        let precision = try arguments.option("precision").map { try ModelPrecision(parsing: $0, field: "--precision") } ?? .float32
        let inPlace = arguments.flag("in-place")
        let json = arguments.flag("json")
        let name = try arguments.requiredPositional("model NAME")
        try arguments.finish()
        var configuration = "{}"
        if let configurationFile {
            guard let data = FileManager.default.contents(atPath: configurationFile) else {
                throw CommandLineError.invalidValue(option: "config", value: configurationFile, expected: "a readable JSON file")
            }
            configuration = String(decoding: data, as: UTF8.self)
        }
        let registration = ModelRegistration(
            name: name, architecture: architecture, configuration: configuration, description: description, labels: labels,
            preload: preload ? true : nil, precision: precision)
        var source = weights
        var inlinedCopy: URL?
        defer { if let inlinedCopy { try? FileManager.default.removeItem(at: inlinedCopy) } }
        if onnx != nil && !inPlace, let inlined = try ONNXModelInliner.inlinedModel(at: URL(fileURLWithPath: weights)) {
            // External data moves into the one file the registry copies and checksums.
            let copy = FileManager.default.temporaryDirectory.appendingPathComponent("periscope-onnx-\(UUID().uuidString).onnx")
            try inlined.write(to: copy)
            inlinedCopy = copy
            source = copy.path
        }
        let version = inPlace
            ? try registry.register(registration, weightsPath: weights)
            : try registry.importWeights(registration, from: source)
        if json {
            try printJSON(versionJSON(version))
        } else {
            print("registered \(version.name) version \(version.version): \(version.byteCount) bytes, sha256 \(version.sha256), \(version.weightsPath)")
        }
    }

    private static func parseLabels(_ text: String) throws -> [String: String] {
        var labels: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw CommandLineError.invalidValue(option: "labels", value: text, expected: "key=value pairs separated by commas") }
            labels[String(parts[0])] = String(parts[1])
        }
        return labels
    }

    // MARK: - list, show

    private static func list(_ arguments: inout CommandLineArguments) throws {
        let registry = try openRegistry(&arguments)
        let json = arguments.flag("json")
        try arguments.finish()
        let models = try registry.models()
        if json { return try printJSON(models.map(modelJSON)) }
        var rows = [["NAME", "DEFAULT", "VERSIONS", "STATUS", "ARCHITECTURE", "SIZE", "PRELOAD"]]
        for model in models {
            let current = model.defaultVersion
            rows.append([
                model.name, current.map { String($0.version) } ?? "-", String(model.versions.count), current?.status.name ?? "-",
                current?.architecture ?? "-", current.map { byteText($0.byteCount) } ?? "-", model.preload ? "yes" : "no",
            ])
        }
        printTable(rows)
    }

    private static func show(_ arguments: inout CommandLineArguments) throws {
        let registry = try openRegistry(&arguments)
        let json = arguments.flag("json")
        let name = try arguments.requiredPositional("model NAME")
        try arguments.finish()
        let model = try registry.model(named: name)
        if json { return try printJSON(modelJSON(model)) }
        print("name:         \(model.name)")
        print("description:  \(model.description)")
        print("labels:       \(model.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))")
        print("preload:      \(model.preload ? "yes" : "no")")
        print("default:      \(model.defaultVersion.map { String($0.version) } ?? "-")\(model.pinnedVersion == nil ? " (latest)" : " (pinned)")")
        var rows = [["VERSION", "STATUS", "ARCHITECTURE", "PRECISION", "SIZE", "SHA256", "WEIGHTS", "CREATED"]]
        for version in model.versions {
            rows.append([
                String(version.version), version.status.description, version.architecture, version.precision.rawValue, byteText(version.byteCount),
                String(version.sha256.prefix(16)), version.weightsPath, ISO8601DateFormatter().string(from: version.createdAt),
            ])
        }
        printTable(rows)
    }

    // MARK: - remove, set-default, verify

    private static func remove(_ arguments: inout CommandLineArguments) throws {
        let registry = try openRegistry(&arguments)
        let version = try arguments.integerOption("version")
        let name = try arguments.requiredPositional("model NAME")
        try arguments.finish()
        if let version {
            try registry.removeVersion(name: name, version: version)
            print("removed \(name) version \(version)")
        } else {
            try registry.removeModel(named: name)
            print("removed \(name)")
        }
    }

    private static func setDefault(_ arguments: inout CommandLineArguments) throws {
        let registry = try openRegistry(&arguments)
        let name = try arguments.requiredPositional("model NAME")
        let text = try arguments.requiredPositional("VERSION (a number or 'latest')")
        try arguments.finish()
        let version: Int?
        if text == "latest" {
            version = nil
        } else {
            guard let number = Int(text) else { throw CommandLineError.invalidValue(option: "set-default", value: text, expected: "a version number or 'latest'") }
            version = number
        }
        try registry.setDefaultVersion(name: name, version: version)
        print("default version of \(name): \(text)")
    }

    private static func verify(_ arguments: inout CommandLineArguments) throws {
        let registry = try openRegistry(&arguments)
        let version = try arguments.integerOption("version")
        let name = try arguments.requiredPositional("model NAME")
        try arguments.finish()
        let verified = try registry.verifyWeights(name: name, version: version)
        print("ok: \(name) version \(verified.version.version), \(verified.version.byteCount) bytes, sha256 \(verified.version.sha256)")
    }

    // MARK: - Output

    private static func versionJSON(_ version: ModelVersion) -> [String: Any] {
        var object: [String: Any] = [
            "name": version.name, "version": version.version, "architecture": version.architecture, "weights_path": version.weightsPath,
            "byte_size": version.byteCount, "sha256": version.sha256, "status": version.status.name,
            "precision": version.precision.rawValue, "created_at": ISO8601DateFormatter().string(from: version.createdAt), "owns_weights_file": version.ownsWeightsFile,
        ]
        if let reason = version.status.reason { object["status_reason"] = reason }
        if let data = version.configuration.data(using: .utf8), let configuration = try? JSONSerialization.jsonObject(with: data) {
            object["config"] = configuration
        }
        return object
    }

    private static func modelJSON(_ model: RegisteredModel) -> [String: Any] {
        [
            "name": model.name, "description": model.description, "labels": model.labels, "preload": model.preload,
            "default_version": model.defaultVersion?.version ?? NSNull(), "pinned_version": model.pinnedVersion ?? NSNull(),
            "versions": model.versions.map(versionJSON),
        ]
    }

    private static func printJSON(_ object: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
    }

    private static func printTable(_ rows: [[String]]) {
        guard let header = rows.first else { return }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
    }

    private static func byteText(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }
}
