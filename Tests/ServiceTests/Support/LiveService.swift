import Configuration
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Models
import NN
import Registry
import TestSupport
@testable import Service

/// A running Periscope service on a loopback port chosen by the OS, in a temporary data
/// directory, with small fixture models registered (and preloaded) — built by the same
/// `ServiceServer` as `periscope serve`. Tests talk to it over HTTP with `request`.
final class LiveService: Sendable {
    /// A small model to register.
    enum Fixture: Sendable {
        /// torchvision ResNet(BasicBlock, [1, 1, 1, 1]) (the PyTorch fixture's weights), images
        /// resized and cropped to `imageSize` (16 unless given).
        case resnet(String, imageSize: Int = 16)
        /// The torchvision ViT fixture (`vit_tiny`: 32 × 32 images, 8 × 8 patches, 2 layers), images
        /// resized and cropped to 32.
        case vit(String)
        /// The BERT fixture (2 layers, hidden 32) with its vocabulary, so text works.
        case bert(String)
        /// The BERT fixture without its vocabulary: no tokenizer, so token ids only.
        case bertWithoutVocabulary(String)
        /// torchvision.ops.MLP(8, [16, 16, 4]) with LayerNorm and GELU, seeded weights.
        case mlp(String)
        /// The BERT fixture registered with `"embedding": <json>` in its configuration.
        case bertEmbedding(String, embedding: String)
        /// A sentence-transformers directory: the BERT fixture plus `Tests/Fixtures/embeddings/st_tiny`
        /// (mean pooling, Dense 32 → 16 with Tanh, Normalize, prompts, max_seq_length 24).
        case sentenceTransformers(String)
        /// The CLIP fixture's configuration with a text vocabulary as large as the CLIP tokenizer
        /// fixture's (6514 ids, EOS 6513, 77 positions), seeded weights, that tokenizer's files and a
        /// `preprocessor_config.json` (shorter side 36, crop 32).
        case clip(String)
        /// The real all-MiniLM-L6-v2 from `.cache/minilm` (`scripts/fetch-minilm`), with an optional
        /// `"embedding"` configuration object.
        case miniLM(String, embedding: String?)

        var name: String {
            switch self {
            case .resnet(let name, _), .vit(let name), .bert(let name), .bertWithoutVocabulary(let name), .mlp(let name), .bertEmbedding(let name, _), .sentenceTransformers(let name),
                 .miniLM(let name, _), .clip(let name): name
            }
        }
    }

    static let resnetConfiguration = #"{"architecture": "resnet", "block": "basic", "layers": [1, 1, 1, 1], "num_classes": 1000, "preprocessing": {"resize_size": 16, "crop_size": 16}}"#
    /// The `clip` fixture's configuration (`clip_tiny` with the tokenizer fixture's vocabulary).
    static let clipConfiguration: String = {
        var object = try! JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("clip_tiny/config.json"))) as! [String: Any]
        var text = object["text_config"] as! [String: Any]
        text["vocab_size"] = 6514
        text["bos_token_id"] = 6512
        text["eos_token_id"] = 6513
        text["max_position_embeddings"] = 77
        object["text_config"] = text
        return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }()

    /// The `clip` fixture's `preprocessor_config.json` (transformers' CLIPImageProcessor keys).
    static let clipPreprocessor = #"{"do_resize": true, "size": {"shortest_edge": 36}, "do_center_crop": true, "crop_size": {"height": 32, "width": 32}, "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3}"#

    static let mlpConfiguration = #"{"in_channels": 8, "hidden_channels": [16, 16, 4], "norm": "layer_norm", "activation": "gelu"}"#

    let directory: URL
    let server: ServiceServer
    let session: URLSession

    var application: ServiceApplication { server.application }
    var port: Int { server.port }

    private init(directory: URL, server: ServiceServer) {
        self.directory = directory
        self.server = server
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 64
        configuration.timeoutIntervalForRequest = 300
        session = URLSession(configuration: configuration)
    }

    /// Starts a service with `fixtures` registered and preloaded, and waits until it is ready.
    /// `settings` are configuration keys (as flags) over the test defaults: port 0, 2 workers of
    /// 1 intra-op thread, no demo models.
    static func start(_ fixtures: [Fixture], settings: [String: String] = [:], accessControl: AccessControl? = .insecureDevelopment,
                      logger: Logger = .disabled, waitUntilReady: Bool = true) async throws -> LiveService {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("periscope-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var flags = ["data_dir": directory.path, "port": "0", "workers": "2", "intra_op_threads": "1", "demo.enabled": "false"]
        flags.merge(settings) { _, new in new }
        let configuration = try PeriscopeConfiguration.load(environment: ["HOME": directory.path], flags: flags)
        let server = try ServiceServer(configuration: configuration, logger: logger, accessControl: accessControl)
        let service = LiveService(directory: directory, server: server)
        for fixture in fixtures { try install(fixture, in: server.application.registry) }
        try server.start()
        if waitUntilReady { try await server.application.waitUntilReady(timeout: .seconds(600)) }
        return service
    }

    /// Copies (or writes) a fixture's files under the model root and registers them there, preloaded.
    static func install(_ fixture: Fixture, in registry: ModelRegistry, preload: Bool = true) throws {
        let folder = registry.modelRoot.absolutePath(fixture.name)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let architecture: String
        let configuration: String
        switch fixture {
        case .resnet(_, let imageSize):
            architecture = "resnet"
            configuration = resnetConfiguration.replacingOccurrences(of: #""resize_size": 16, "crop_size": 16"#,
                                                                     with: #""resize_size": \#(imageSize), "crop_size": \#(imageSize)"#)
            try copy(Fixtures.url("resnet_basic_1111/model.safetensors"), to: folder + "/model.safetensors")
        case .vit:
            architecture = "vit"
            configuration = try withMember(String(contentsOf: Fixtures.url("vit_tiny/config.json"), encoding: .utf8), "preprocessing",
                                           #"{"resize_size": 32, "crop_size": 32}"#)
            try copy(Fixtures.url("vit_tiny/model.safetensors"), to: folder + "/model.safetensors")
        case .bert, .bertWithoutVocabulary:
            architecture = "bert"
            let tokenizerFiles = if case .bert = fixture { ["vocab.txt", "tokenizer_config.json"] } else { [String]() }
            for file in ["config.json", "model.safetensors"] + tokenizerFiles {
                try copy(Fixtures.url("bert_tiny/" + file), to: folder + "/" + file)
            }
            configuration = try String(contentsOf: Fixtures.url("bert_tiny/config.json"), encoding: .utf8)
        case .mlp:
            architecture = "mlp"
            configuration = mlpConfiguration
            let model = try LoadedModel.load(architecture: "mlp", configuration: Data(configuration.utf8), seed: 7)
            try SafetensorsWriter.write(model.weights.entries.map { ($0.key, $0.tensor) }, to: URL(fileURLWithPath: folder + "/model.safetensors"))
        case .clip:
            architecture = "clip"
            configuration = clipConfiguration
            let model = try LoadedModel.load(architecture: "clip", configuration: Data(configuration.utf8), seed: 11)
            try SafetensorsWriter.write(model.weights.entries.map { ($0.key, $0.tensor) }, to: URL(fileURLWithPath: folder + "/model.safetensors"))
            for file in ["vocab.json", "merges.txt"] { try copy(Fixtures.url("clip_tokenizer/" + file), to: folder + "/" + file) }
            try Data(clipPreprocessor.utf8).write(to: URL(fileURLWithPath: folder + "/preprocessor_config.json"))
        case .bertEmbedding(_, let embedding):
            architecture = "bert"
            for file in ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"] {
                try copy(Fixtures.url("bert_tiny/" + file), to: folder + "/" + file)
            }
            configuration = try withEmbedding(String(contentsOf: Fixtures.url("bert_tiny/config.json"), encoding: .utf8), embedding)
        case .sentenceTransformers:
            architecture = "bert"
            for file in ["config.json", "model.safetensors", "vocab.txt"] {
                try copy(Fixtures.url("bert_tiny/" + file), to: folder + "/" + file)
            }
            let source = Fixtures.url("embeddings/st_tiny")
            for item in try FileManager.default.contentsOfDirectory(atPath: source.path) where item != "expected.json" {
                try copy(source.appendingPathComponent(item), to: folder + "/" + item)
            }
            configuration = try String(contentsOf: Fixtures.url("bert_tiny/config.json"), encoding: .utf8)
        case .miniLM(_, let embedding):
            architecture = "bert"
            let source = miniLMDirectory
            for file in ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"] {
                let path = source.appendingPathComponent(file)
                guard FileManager.default.fileExists(atPath: path.path) else {
                    throw LiveServiceError.missingFile(path.path, hint: "run scripts/fetch-minilm (scripts/bootstrap does)")
                }
                try FileManager.default.linkItem(atPath: path.path, toPath: folder + "/" + file)
            }
            let base = try String(contentsOf: source.appendingPathComponent("config.json"), encoding: .utf8)
            configuration = try embedding.map { try withEmbedding(base, $0) } ?? base
        }
        _ = try registry.register(ModelRegistration(name: fixture.name, architecture: architecture, configuration: configuration, preload: preload),
                                  weightsPath: fixture.name + "/model.safetensors")
    }

    /// `.cache/minilm` of this checkout (the real all-MiniLM-L6-v2).
    static let miniLMDirectory = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".cache/minilm", isDirectory: true)

    /// A JSON configuration with `"embedding": <embedding>` added.
    static func withEmbedding(_ configuration: String, _ embedding: String) throws -> String {
        try withMember(configuration, "embedding", embedding)
    }

    /// A JSON configuration with `"<key>": <json>` added.
    static func withMember(_ configuration: String, _ key: String, _ json: String) throws -> String {
        var object = try JSONSerialization.jsonObject(with: Data(configuration.utf8)) as! [String: Any]
        object[key] = try JSONSerialization.jsonObject(with: Data(json.utf8))
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    private static func copy(_ source: URL, to path: String) throws {
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.copyItem(atPath: source.path, toPath: path)
    }

    /// Drains and stops the server and removes the data directory.
    func stop() async {
        await server.stop(drainTimeout: .seconds(5))
        session.invalidateAndCancel()
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: - Requests

    /// Sends a request and returns the reply, whatever its status.
    func request(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [String: String] = [:]) async throws -> LiveReply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body { request.httpBody = Data(body) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var replyHeaders: [String: String] = [:]
        for (name, value) in http.allHeaderFields { replyHeaders[String(describing: name).lowercased()] = String(describing: value) }
        return LiveReply(status: http.statusCode, headers: replyHeaders, body: Array(data))
    }

    /// A JSON POST.
    func post(_ path: String, json: String, headers: [String: String] = [:]) async throws -> LiveReply {
        try await request("POST", path, body: Array(json.utf8), headers: headers.merging(["Content-Type": "application/json"]) { first, _ in first })
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> LiveReply {
        try await request("GET", path, headers: headers)
    }
}

/// Why a live service could not be set up.
enum LiveServiceError: Error, CustomStringConvertible {
    case missingFile(String, hint: String)

    var description: String {
        switch self {
        case .missingFile(let path, let hint): "\(path) is missing: \(hint)"
        }
    }
}

/// A reply as a test client sees it.
struct LiveReply: Sendable {
    var status: Int
    /// Header names in lower case.
    var headers: [String: String]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as JSON (the service's own parser: exact numbers).
    func json() throws -> JSONValue { try JSONParser.parse(body) }

    /// `error_type` of an error body.
    var errorType: String? { (try? json())?.objectValue?["error_type"]?.stringValue }
}
