import Foundation

/// Every setting of the Periscope service and CLI, layered
/// defaults < configuration file < `PERISCOPE_*` environment variables < command-line flags.
///
/// Keys are snake_case in `Config/periscope.json`; nested groups (`http`, `batching`, `demo`) are
/// JSON objects, and their environment variables join the path with `_`
/// (`http.max_body_bytes` → `PERISCOPE_HTTP_MAX_BODY_BYTES`). The table of keys, defaults and
/// meanings is `PeriscopeConfiguration.settings` (documented in docs/configuration.md).
public struct PeriscopeConfiguration: Sendable, Equatable, Decodable {
    /// Address the server listens on.
    public var host = "127.0.0.1"
    /// TCP port (0: the OS picks one).
    public var port = 8080
    /// Request worker threads, each with its own model replicas. 0 in the file means "automatic"
    /// (half the CPUs, at least 1) and is resolved when loading.
    public var workers: Int
    /// Threads each forward pass may use for intra-op parallelism. 0 means "automatic"
    /// (CPUs divided by workers, at least 1).
    public var intraOpThreads: Int
    /// Jobs waiting for a worker before new requests get 429.
    public var queueSize = 64
    /// The pre-processing stage (body parsing, image decoding, tokenization) in front of the queue.
    public var preprocessing = Preprocessing()
    /// Deadline of a request that does not set one, from arrival to response.
    public var requestTimeoutMilliseconds = 30_000
    /// The longest deadline a client may ask for.
    public var maxRequestTimeoutMilliseconds = 300_000
    /// HTTP parsing limits and connection timeouts.
    public var http = HTTPLimits()
    /// Largest response body; larger feature responses get 413.
    public var maxResponseBytes = 256 << 20
    /// Memory an attribution request may use for activations and gradients (its internal batch).
    public var attributionMemoryBytes = 1 << 30
    /// Where the database and models live by default (absolute).
    public var dataDirectory: String
    /// The registry database (absolute).
    public var databasePath: String
    /// The directory weights files must live in (absolute).
    public var modelRoot: String
    /// Models (`name` or `name@version`) to load at start, besides those flagged `preload` in the registry.
    public var preload: [String] = []
    /// Dynamic batching of concurrent requests for the same model.
    public var batching = Batching()
    /// Least severe log level written.
    public var logLevel = LogLevel.info
    /// JSON file of bearer tokens with scopes (`{"tokens": [{"token": "…", "scopes": ["admin", "infer"]}]}`);
    /// `nil`: inference endpoints open, admin endpoints disabled (unless `insecureDevMode`).
    public var authTokensFile: String?
    /// Without a tokens file, open the admin endpoints to anyone (development only; logged as a warning).
    public var insecureDevMode = false
    /// The models registered on first start.
    public var demo = DemoModels()
    /// Dataset extraction jobs.
    public var jobs = Jobs()
    /// The feature cache.
    public var cache = Cache()

    /// The bounded pre-processing stage: threads that parse request bodies, decode images and
    /// tokenize texts before the job is queued, and the requests that may wait for one.
    public struct Preprocessing: Sendable, Equatable {
        /// Requests pre-processed at once, one thread each. 0 means "automatic" (the CPUs) and is
        /// resolved when loading.
        public var threads = 0
        /// Requests waiting for a pre-processing thread before new requests get 429.
        public var queueSize = 64
    }

    /// HTTP server limits.
    public struct HTTPLimits: Sendable, Equatable {
        /// Total bytes of the request line and headers.
        public var maxHeaderBytes = 65_536
        /// Number of header fields.
        public var maxHeaderCount = 100
        /// Body of an ordinary request (features, inference).
        public var maxBodyBytes = 64 << 20
        /// Body of a weights upload (`POST /v1/models`).
        public var maxUploadBytes = 4 << 30
        /// Open connections; more are refused.
        public var maxConnections = 512
        /// Keep-alive connection idle time before it is closed.
        public var idleTimeoutMilliseconds = 60_000
        /// Time to receive the full header section.
        public var headerTimeoutMilliseconds = 10_000
        /// Time between body bytes.
        public var bodyTimeoutMilliseconds = 60_000
        /// Time a response write may block.
        public var writeTimeoutMilliseconds = 60_000
        /// On shutdown, how long in-flight requests may finish.
        public var drainTimeoutMilliseconds = 10_000
    }

    /// Dynamic batching settings.
    public struct Batching: Sendable, Equatable {
        /// Whether concurrent requests are batched.
        public var enabled = false
        /// Most requests in one batch.
        public var maxBatchSize = 8
        /// Longest a request waits for others to join its batch.
        public var maxDelayMilliseconds = 2
        /// Whether concurrent text requests whose layers are token-pooled (embeddings) are batched,
        /// padded to a common length (independent of `enabled`).
        public var textEnabled = true
        /// Most tokens (rows × padded length) in one text batch.
        public var maxBatchTokens = 8192
        /// Longest a text request waits for others to join its batch.
        public var textMaxDelayMilliseconds = 0
    }

    /// The embedded default models.
    public struct DemoModels: Sendable, Equatable {
        /// Register and preload the demo models when the registry has no models.
        public var enabled = true
        /// Seed of the ResNet-18's initialization.
        public var resnet18Seed = 0
        /// A directory with all-MiniLM-L6-v2 (`config.json`, `model.safetensors`, `vocab.txt`), skipped
        /// when absent; `nil`: no MiniLM demo. The default, `.cache/minilm` in the working directory,
        /// is where `scripts/fetch-minilm` puts it in a checkout.
        public var minilmDirectory: String? = ".cache/minilm"
    }

    /// Dataset extraction jobs (`POST /v1/jobs`).
    public struct Jobs: Sendable, Equatable {
        /// The directory every job's dataset and output directory must be in (absolute once resolved).
        public var dataRoot = ""
        /// Nice value of the background lane the jobs run on.
        public var nice = 10
    }

    /// The content-addressed cache of pooled features (`FeatureCache`).
    public struct Cache: Sendable, Equatable {
        /// Whether features requests and extraction jobs use it.
        public var enabled = true
        /// Its SQLite database (absolute once resolved).
        public var path = ""
        /// Most bytes of cached values.
        public var maxBytes = 1 << 30

        public init() {}
    }

    /// Log severities, least to most severe.
    public enum LogLevel: String, Sendable, Equatable, CaseIterable, Comparable {
        case trace, debug, info, notice, warning, error, critical

        public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// The defaults, with no file, environment or flags (paths from `$XDG_DATA_HOME`/`$HOME`).
    public init() {
        self = Self.resolved(Self.unresolved(environment: ProcessInfo.processInfo.environment))
    }

    /// Defaults and the file's values only (no environment, no flags), as JSONDecoder reads `Config/periscope.json`.
    public init(from decoder: any Decoder) throws {
        let value = try ConfigurationValue(from: decoder)
        var layer = ConfigurationLayer()
        try layer.addFile(value, source: "the configuration file")
        self = try Self.build(from: [layer], environment: ProcessInfo.processInfo.environment)
    }

    /// The defaults before paths and automatic counts are resolved.
    static func unresolved(environment: [String: String]) -> PeriscopeConfiguration {
        PeriscopeConfiguration(workers: 0, intraOpThreads: 0, dataDirectory: defaultDataDirectory(environment: environment), databasePath: "", modelRoot: "")
    }

    private init(workers: Int, intraOpThreads: Int, dataDirectory: String, databasePath: String, modelRoot: String) {
        self.workers = workers
        self.intraOpThreads = intraOpThreads
        self.dataDirectory = dataDirectory
        self.databasePath = databasePath
        self.modelRoot = modelRoot
    }

    /// `$XDG_DATA_HOME/periscope`, else `$HOME/.local/share/periscope`, else `./data`: the same
    /// place whatever the working directory, so the CLI finds the server's database.
    public static func defaultDataDirectory(environment: [String: String]) -> String {
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") { return xdg + "/periscope" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.local/share/periscope" }
        return "./data"
    }
}
