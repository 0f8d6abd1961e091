// MARK: - The table of settings

extension PeriscopeConfiguration {
    /// Every configuration key, in the order of `Config/periscope.json` and docs/configuration.md.
    public static let settings: [ConfigurationSetting] = [
        setting("host", .string, "\"127.0.0.1\"", "Address to listen on; 0.0.0.0 for every interface.") { $0.host = $1.text ?? "" },
        setting("port", .integer(0...65_535), "8080", "TCP port; 0 lets the OS pick one.") { $0.port = $1.integer },
        setting("workers", .integer(0...1024), "0", "Request worker threads, each with its own model replicas; 0 = half the CPUs (at least 1).") { $0.workers = $1.integer },
        setting("intra_op_threads", .integer(0...1024), "0", "Threads one forward pass may use; 0 = CPUs ÷ workers (at least 1).") { $0.intraOpThreads = $1.integer },
        setting("queue_size", .integer(1...1_000_000), "64", "Jobs waiting for a worker; when full, requests get 429 with Retry-After.") { $0.queueSize = $1.integer },
        setting("preprocessing.threads", .integer(0...1024), "0", "Requests whose body is parsed, images decoded or texts tokenized at once, each on a thread of its own, before their job is queued; 0 = the CPUs.") { $0.preprocessing.threads = $1.integer },
        setting("preprocessing.queue_size", .integer(0...1_000_000), "64", "Requests waiting for a pre-processing thread; when full, requests get 429 (preprocessing_full) with Retry-After.") { $0.preprocessing.queueSize = $1.integer },
        setting("request_timeout_ms", .integer(1...86_400_000), "30000", "Deadline of a request that sets none, arrival to response; past it: 504, job dropped.") { $0.requestTimeoutMilliseconds = $1.integer },
        setting("max_request_timeout_ms", .integer(1...86_400_000), "300000", "Longest deadline a client may ask for.") { $0.maxRequestTimeoutMilliseconds = $1.integer },
        setting("http.max_header_bytes", .integer(1024...16_777_216), "65536", "Bytes of request line plus headers; more: 431.") { $0.http.maxHeaderBytes = $1.integer },
        setting("http.max_header_count", .integer(1...10_000), "100", "Header fields per request; more: 431.") { $0.http.maxHeaderCount = $1.integer },
        setting("http.max_body_bytes", .integer(0...Int.max), "67108864", "Body of a features/inference request (64 MiB); more: 413.") { $0.http.maxBodyBytes = $1.integer },
        setting("http.max_upload_bytes", .integer(0...Int.max), "4294967296", "Body of a weights upload, POST /v1/models (4 GiB); more: 413.") { $0.http.maxUploadBytes = $1.integer },
        setting("http.max_connections", .integer(1...1_000_000), "512", "Open connections; further ones are closed at once.") { $0.http.maxConnections = $1.integer },
        setting("http.idle_timeout_ms", .integer(1...86_400_000), "60000", "Keep-alive connection idle time before it is closed.") { $0.http.idleTimeoutMilliseconds = $1.integer },
        setting("http.header_timeout_ms", .integer(1...86_400_000), "10000", "Time to receive the whole header section (slow-loris guard); past it: 408.") { $0.http.headerTimeoutMilliseconds = $1.integer },
        setting("http.body_timeout_ms", .integer(1...86_400_000), "60000", "Longest gap between body bytes; past it: 408.") { $0.http.bodyTimeoutMilliseconds = $1.integer },
        setting("http.write_timeout_ms", .integer(1...86_400_000), "60000", "Longest a response write may block on a slow client.") { $0.http.writeTimeoutMilliseconds = $1.integer },
        setting("http.drain_timeout_ms", .integer(0...86_400_000), "10000", "On SIGTERM, how long in-flight requests may finish before connections close.") { $0.http.drainTimeoutMilliseconds = $1.integer },
        setting("max_response_bytes", .integer(1...Int.max), "268435456", "Largest response body (256 MiB); larger feature responses: 413.") { $0.maxResponseBytes = $1.integer },
        setting("attribution_memory_bytes", .integer((1 << 20)...Int.max), "1073741824", "Memory one attribution request may use for its activations and gradients (1 GiB); integrated_gradients and smoothgrad batch their steps within it, a request over it gets 413.") { $0.attributionMemoryBytes = $1.integer },
        setting("data_dir", .optionalString, "null", "Data directory; null = $XDG_DATA_HOME/periscope, else ~/.local/share/periscope.") { $0.dataDirectory = $1.text ?? "" },
        setting("db_path", .optionalString, "null", "Registry database; null = <data_dir>/registry.sqlite3.") { $0.databasePath = $1.text ?? "" },
        setting("model_root", .optionalString, "null", "Directory all weights files must be in; null = <data_dir>/models.") { $0.modelRoot = $1.text ?? "" },
        setting("preload", .stringList, "[]", "Models (name or name@version) loaded at start, besides those registered with preload.") { $0.preload = $1.strings },
        setting("batching.enabled", .boolean, "false", "Batch concurrent requests for the same model and layers.") { $0.batching.enabled = $1.boolean },
        setting("batching.max_batch_size", .integer(1...1024), "8", "Most requests in one batch.") { $0.batching.maxBatchSize = $1.integer },
        setting("batching.max_delay_ms", .integer(0...10_000), "2", "Longest a request waits for others to join its batch.") { $0.batching.maxDelayMilliseconds = $1.integer },
        setting("batching.text_enabled", .boolean, "true", "Batch concurrent text requests whose layers are token-pooled (embeddings), padded to a common length; results equal unbatched within 1e-6.") { $0.batching.textEnabled = $1.boolean },
        setting("batching.max_batch_tokens", .integer(16...1_048_576), "8192", "Most tokens (rows × padded length) in one text batch.") { $0.batching.maxBatchTokens = $1.integer },
        setting("batching.text_max_delay_ms", .integer(0...10_000), "0", "Longest a text request waits for others to join its batch (0: a free worker takes what is queued; batches form from requests that arrive while it computes).") { $0.batching.textMaxDelayMilliseconds = $1.integer },
        setting("log_level", .choice(LogLevel.allCases.map(\.rawValue)), "\"info\"", "Least severe level logged (one JSON object per line on stderr).") { $0.logLevel = LogLevel(rawValue: $1.text ?? "") ?? .info },
        setting("auth_tokens_file", .optionalString, "null", "JSON file of bearer tokens and their scopes, {\"tokens\": [{\"token\": …, \"scopes\": [\"admin\", \"infer\"]}]}; null = inference open, admin endpoints disabled.") { $0.authTokensFile = $1.text },
        setting("insecure_dev_mode", .boolean, "false", "Without auth_tokens_file, open the admin endpoints (register, delete, load/unload) to anyone; logs a warning. Development only.") { $0.insecureDevMode = $1.boolean },
        setting("demo.enabled", .boolean, "true", "With an empty registry, register and preload the demo models at start.") { $0.demo.enabled = $1.boolean },
        setting("demo.resnet18_seed", .integer(0...Int.max), "0", "Seed of the demo ResNet-18's initialization.") { $0.demo.resnet18Seed = $1.integer },
        setting("jobs.data_root", .optionalString, "null", "Directory the dataset and output_dir of every extraction job (POST /v1/jobs) must be in; paths leaving it (.., absolute paths elsewhere, symlinks out) are refused; null = <data_dir>/jobs.") { $0.jobs.dataRoot = $1.text ?? "" },
        setting("jobs.nice", .integer(0...19), "10", "Nice value of the thread extraction jobs run on (and its intra-op threads); higher yields more CPU to interactive requests.") { $0.jobs.nice = $1.integer },
        setting("cache.enabled", .boolean, "true", "Keep pooled features (pool mean, max or cls) in a content-addressed cache that features requests and extraction jobs read and fill; Cache-Control: no-cache on a request skips the read.") { $0.cache.enabled = $1.boolean },
        setting("cache.path", .optionalString, "null", "The cache's SQLite database (its own file, never the registry's); null = <data_dir>/cache.sqlite3.") { $0.cache.path = $1.text ?? "" },
        setting("cache.max_bytes", .integer(0...Int.max), "1073741824", "Most bytes of cached values (1 GiB); least recently used entries are evicted to stay within it.") { $0.cache.maxBytes = $1.integer },
        setting("demo.minilm_dir", .optionalString, "\".cache/minilm\"", "Directory with all-MiniLM-L6-v2 (config.json, model.safetensors, vocab.txt), relative to the working directory (scripts/fetch-minilm fills .cache/minilm); skipped when absent; null = no MiniLM demo.") { $0.demo.minilmDirectory = $1.text },
    ]

    /// The setting called `key`, if any.
    public static func setting(named key: String) -> ConfigurationSetting? { settings.first { $0.key == key } }

    private static func setting(_ key: String, _ kind: ConfigurationSetting.Kind, _ defaultValue: String, _ summary: String,
                                store: @escaping @Sendable (inout PeriscopeConfiguration, ConfigurationSetting.Value) -> Void) -> ConfigurationSetting {
        ConfigurationSetting(key: key, kind: kind, defaultValue: defaultValue, summary: summary, store: store)
    }
}
