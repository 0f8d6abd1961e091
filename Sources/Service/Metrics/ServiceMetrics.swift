/// The feature service's metrics, typed so the service core calls methods instead of naming
/// metrics and labels. All `periscope_*` families plus the `process_*` ones live in `registry`.
///
/// | family | type | labels |
/// |---|---|---|
/// | periscope_requests_total | counter | model, endpoint, status |
/// | periscope_request_duration_seconds | histogram | model, endpoint |
/// | periscope_response_bytes_total | counter | model, endpoint |
/// | periscope_requests_in_flight | gauge | |
/// | periscope_preprocessing_in_flight | gauge | |
/// | periscope_preprocessing_queue_depth | gauge | |
/// | periscope_preprocessing_rejected_total | counter | reason |
/// | periscope_preprocessing_wait_seconds | histogram | |
/// | periscope_preprocessing_seconds | histogram | |
/// | periscope_queue_depth | gauge | |
/// | periscope_queue_wait_seconds | histogram | model |
/// | periscope_compute_seconds | histogram | model, precision |
/// | periscope_encode_seconds | histogram | model |
/// | periscope_batch_size | histogram | model |
/// | periscope_active_hooks | gauge | |
/// | periscope_models_loaded | gauge | |
/// | periscope_model_load_seconds | histogram | model, precision |
/// | periscope_jobs_dropped_total | counter | reason |
/// | periscope_extraction_jobs | gauge | state (queued, running) |
/// | periscope_extraction_items_total | counter | |
/// | periscope_extraction_jobs_finished_total | counter | state (succeeded, failed, cancelled) |
/// | periscope_cache_hits_total | counter | model |
/// | periscope_cache_misses_total | counter | model |
/// | periscope_cache_evictions_total | counter | |
/// | periscope_cache_bytes | gauge | |
///
/// `model` is the model name (`-` for requests that never resolved one), `endpoint` a short route
/// name (`features`, `infer`, `layers`, …), `status` the numeric HTTP status, `precision` the
/// arithmetic the model version computes in (`float32`, `int8`, …). The pre-processing stage's
/// `reason` is the error type a request it did not run was answered with (`preprocessing_full`
/// for its 429s, `deadline_exceeded`, `client_disconnected`, `unavailable`). Cache hits and misses count
/// (item, layer) entries looked up; evictions and bytes are cache-wide, as the byte bound is.
public final class ServiceMetrics: Sendable {
    public let registry: MetricsRegistry

    private let requests: MetricFamily<Counter>
    private let requestDuration: MetricFamily<Histogram>
    private let responseBytes: MetricFamily<Counter>
    private let inFlight: Gauge
    private let preprocessingInFlight: Gauge
    private let preprocessingQueueDepth: Gauge
    private let preprocessingRejections: MetricFamily<Counter>
    private let preprocessingWait: Histogram
    private let preprocessing: Histogram
    private let queueDepth: Gauge
    private let queueWait: MetricFamily<Histogram>
    private let compute: MetricFamily<Histogram>
    private let encode: MetricFamily<Histogram>
    private let batchSize: MetricFamily<Histogram>
    private let activeHooks: Gauge
    private let modelsLoaded: Gauge
    private let modelLoad: MetricFamily<Histogram>
    private let droppedJobs: MetricFamily<Counter>
    private let extractionJobs: MetricFamily<Gauge>
    private let extractionItems: Counter
    private let extractionJobsFinished: MetricFamily<Counter>
    private let cacheHits: MetricFamily<Counter>
    private let cacheMisses: MetricFamily<Counter>
    private let cacheEvictions: Counter
    private let cacheBytes: Gauge

    /// Batch-size buckets: powers of two up to 64.
    public static let batchSizeBounds: [Double] = [1, 2, 4, 8, 16, 32, 64]
    /// Model load buckets in seconds, 10 ms … 2 min.
    public static let loadSecondsBounds: [Double] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

    /// A registry with the service metrics and, when `includeProcessMetrics`, the process ones.
    public init(registry: MetricsRegistry = MetricsRegistry(), includeProcessMetrics: Bool = true) {
        self.registry = registry
        let latency = Histogram.latencySeconds
        requests = registry.counter("periscope_requests_total", help: "Requests answered, by model, endpoint and HTTP status.",
                                    labelNames: ["model", "endpoint", "status"])
        requestDuration = registry.histogram("periscope_request_duration_seconds", help: "Time from receiving a request to the end of its response.",
                                             labelNames: ["model", "endpoint"], upperBounds: latency)
        responseBytes = registry.counter("periscope_response_bytes_total", help: "Response body bytes sent.", labelNames: ["model", "endpoint"])
        inFlight = registry.gauge("periscope_requests_in_flight", help: "Requests being handled now.").labels()
        preprocessingInFlight = registry.gauge("periscope_preprocessing_in_flight",
                                               help: "Requests being pre-processed now (body parsed, images decoded, texts tokenized).").labels()
        preprocessingQueueDepth = registry.gauge("periscope_preprocessing_queue_depth",
                                                 help: "Requests waiting for a pre-processing thread.").labels()
        preprocessingRejections = registry.counter("periscope_preprocessing_rejected_total",
                                                   help: "Requests the pre-processing stage answered without running them, by reason (preprocessing_full: 429).",
                                                   labelNames: ["reason"])
        preprocessingWait = registry.histogram("periscope_preprocessing_wait_seconds", help: "Time requests waited for a pre-processing thread.",
                                               upperBounds: latency).labels()
        preprocessing = registry.histogram("periscope_preprocessing_seconds",
                                           help: "Pre-processing time per request step (parsing the body; decoding images or tokenizing texts).",
                                           upperBounds: latency).labels()
        queueDepth = registry.gauge("periscope_queue_depth", help: "Jobs waiting in the request queue.").labels()
        queueWait = registry.histogram("periscope_queue_wait_seconds", help: "Time jobs spent queued before a worker took them.",
                                       labelNames: ["model"], upperBounds: latency)
        compute = registry.histogram("periscope_compute_seconds", help: "Forward-pass time per job (batch).",
                                     labelNames: ["model", "precision"], upperBounds: latency)
        encode = registry.histogram("periscope_encode_seconds", help: "Time spent post-processing and encoding responses.",
                                    labelNames: ["model"], upperBounds: latency)
        batchSize = registry.histogram("periscope_batch_size", help: "Requests per forward pass (dynamic batching).",
                                       labelNames: ["model"], upperBounds: Self.batchSizeBounds)
        activeHooks = registry.gauge("periscope_active_hooks", help: "Capture hooks registered on worker replicas now (0 between jobs).").labels()
        modelsLoaded = registry.gauge("periscope_models_loaded", help: "Model versions loaded and ready.").labels()
        modelLoad = registry.histogram("periscope_model_load_seconds", help: "Time to load a model version (weights, replicas, warm-up).",
                                       labelNames: ["model", "precision"], upperBounds: Self.loadSecondsBounds)
        droppedJobs = registry.counter("periscope_jobs_dropped_total",
                                       help: "Queued jobs answered without running, by reason (deadline_exceeded, client_disconnected, unavailable, …).",
                                       labelNames: ["reason"])
        extractionJobs = registry.gauge("periscope_extraction_jobs", help: "Dataset extraction jobs (POST /v1/jobs) queued or running now.",
                                        labelNames: ["state"])
        extractionItems = registry.counter("periscope_extraction_items_total",
                                           help: "Dataset items dataset extraction jobs went through (extracted or skipped).").labels()
        extractionJobsFinished = registry.counter("periscope_extraction_jobs_finished_total",
                                                  help: "Dataset extraction jobs that ended, by final state.", labelNames: ["state"])
        cacheHits = registry.counter("periscope_cache_hits_total", help: "Feature cache entries (item, layer) found, by model.",
                                     labelNames: ["model"])
        cacheMisses = registry.counter("periscope_cache_misses_total", help: "Feature cache entries (item, layer) looked up and not found, by model.",
                                       labelNames: ["model"])
        cacheEvictions = registry.counter("periscope_cache_evictions_total",
                                          help: "Feature cache entries evicted (least recently used) to stay within cache.max_bytes.").labels()
        cacheBytes = registry.gauge("periscope_cache_bytes", help: "Bytes of values in the feature cache.").labels()
        // Both states are always exposed, 0 when idle; so is the stage's 429 count.
        for state in ["queued", "running"] { extractionJobs.labels(state).set(0) }
        _ = preprocessingRejections.labels("preprocessing_full")
        if includeProcessMetrics { registry.register(ProcessMetrics()) }
    }

    // MARK: - Requests

    /// A request entered a handler.
    public func requestStarted() { inFlight.increment() }

    /// A request's response ended (or failed): counts it, its duration and its body bytes.
    public func requestFinished(model: String?, endpoint: String, status: Int, seconds: Double, responseBytes bytes: Int) {
        inFlight.decrement()
        let model = model ?? "-"
        requests.labels(model, endpoint, String(status)).increment()
        requestDuration.labels(model, endpoint).observe(seconds)
        if bytes > 0 { responseBytes.labels(model, endpoint).increment(by: Double(bytes)) }
    }

    // MARK: - Pre-processing stage

    public func setPreprocessingInFlight(_ count: Int) { preprocessingInFlight.set(Double(count)) }
    public func setPreprocessingQueueDepth(_ depth: Int) { preprocessingQueueDepth.set(Double(depth)) }
    /// The stage answered a request without running it (`reason`: the error type it was answered with).
    public func countPreprocessingRejection(reason: String) { preprocessingRejections.labels(reason).increment() }
    public func observePreprocessingWait(seconds: Double) { preprocessingWait.observe(seconds) }
    public func observePreprocessing(seconds: Double) { preprocessing.observe(seconds) }

    // MARK: - Queue and workers

    public func setQueueDepth(_ depth: Int) { queueDepth.set(Double(depth)) }
    public func observeQueueWait(model: String, seconds: Double) { queueWait.labels(model).observe(seconds) }
    public func observeCompute(model: String, precision: String, seconds: Double, batchSize size: Int) {
        compute.labels(model, precision).observe(seconds)
        batchSize.labels(model).observe(Double(size))
    }
    public func observeEncode(model: String, seconds: Double) { encode.labels(model).observe(seconds) }
    /// A queued job was answered without running (`reason`: the error type it was answered with).
    public func countDroppedJob(reason: String) { droppedJobs.labels(reason).increment() }
    /// Hooks registered on replicas now (the workers add before a forward pass and subtract after).
    public func addActiveHooks(_ delta: Int) { activeHooks.increment(by: Double(delta)) }
    public var activeHookCount: Int { Int(activeHooks.value) }

    // MARK: - Extraction jobs

    /// Jobs queued and running now.
    public func setExtractionJobs(queued: Int, running: Int) {
        extractionJobs.labels("queued").set(Double(queued))
        extractionJobs.labels("running").set(Double(running))
    }
    public func countExtractionItems(_ items: Int) { if items > 0 { extractionItems.increment(by: Double(items)) } }
    public func countFinishedExtractionJob(state: String) { extractionJobsFinished.labels(state).increment() }

    // MARK: - Feature cache

    public func countCacheLookups(model: String, hits: Int, misses: Int) {
        if hits > 0 { cacheHits.labels(model).increment(by: Double(hits)) }
        if misses > 0 { cacheMisses.labels(model).increment(by: Double(misses)) }
    }
    public func countCacheEvictions(_ count: Int) { if count > 0 { cacheEvictions.increment(by: Double(count)) } }
    public func setCacheBytes(_ bytes: Int) { cacheBytes.set(Double(bytes)) }

    // MARK: - Models

    public func setLoadedModels(_ count: Int) { modelsLoaded.set(Double(count)) }
    public func observeModelLoad(model: String, precision: String, seconds: Double) { modelLoad.labels(model, precision).observe(seconds) }

    /// The text exposition for `GET /metrics`.
    public func exposition() -> String { registry.exposition() }
}
