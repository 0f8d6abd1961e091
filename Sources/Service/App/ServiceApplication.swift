import Configuration
import Foundation
import HTTP
import Logging
import Registry
import Synchronization

/// The Periscope service, assembled from its configuration: the registry, the pre-processing
/// stage, the worker pool, the model manager, metrics, access control, and the HTTP responder with every route and the
/// middleware around them. `periscope serve` and the live tests build it the same way
/// (`ServiceServer` puts it behind an `HTTPServer`).
///
/// Middleware, outermost first: request id → access log → router (`ServiceRouter`, one match
/// against `ServiceRoute.table`) → the route's request metrics → error mapping → domain-error
/// mapping → authentication → handler.
public final class ServiceApplication: Sendable {
    /// What the endpoints share.
    public let context: ServiceContext
    public let accessControl: AccessControl
    /// Every route behind the middleware: what the HTTP server answers with.
    public let responder: MiddlewareChain

    public var configuration: PeriscopeConfiguration { context.configuration }
    public var logger: Logger { context.logger }
    public var registry: ModelRegistry { context.registry }
    public var pool: WorkerPool { context.pool }
    public var manager: ModelManager { context.manager }
    public var metrics: ServiceMetrics { context.metrics }
    /// Dataset extraction jobs (`/v1/jobs`).
    public let jobs: JobManager

    /// Opens (creating) the data directory and the registry and starts the workers; models are
    /// loaded by `start()`. Throws when the registry cannot be opened or the tokens file is unusable.
    /// `accessControl` overrides the configured policy (tests).
    public init(configuration: PeriscopeConfiguration, logger: Logger, accessControl: AccessControl? = nil) throws {
        self.accessControl = try accessControl ?? AccessControl.load(tokensFile: configuration.authTokensFile,
                                                                     insecureDevMode: configuration.insecureDevMode)
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        let registry = try ModelRegistry(databasePath: configuration.databasePath, modelRoot: configuration.modelRoot)
        let metrics = ServiceMetrics()
        let preprocessing = PreprocessingStage(settings: .init(threads: configuration.preprocessing.threads,
                                                               queueCapacity: configuration.preprocessing.queueSize), metrics: metrics)
        let pool = WorkerPool(settings: .init(workers: configuration.workers, intraOpThreads: configuration.intraOpThreads,
                                              queueCapacity: configuration.queueSize, backgroundNice: configuration.jobs.nice),
                              metrics: metrics, logger: logger)
        let manager = ModelManager(registry: registry, pool: pool, batching: configuration.batching, metrics: metrics, logger: logger)
        let cache = configuration.cache.enabled
            ? FeatureCache.open(path: configuration.cache.path, maxBytes: configuration.cache.maxBytes, metrics: metrics, logger: logger) : nil
        context = ServiceContext(configuration: configuration, logger: logger, registry: registry, preprocessing: preprocessing, pool: pool,
                                 manager: manager, metrics: metrics, cache: cache)
        jobs = JobManager(dataRootPath: configuration.jobs.dataRoot, registry: registry, pool: pool, manager: manager, metrics: metrics,
                          cache: cache, logger: logger)
        let router = ServiceRouter(table: ServiceRoute.table, endpoints: ServiceEndpoints(context: context, jobs: jobs),
                                   maxUploadBytes: configuration.http.maxUploadBytes, metrics: metrics, manager: manager,
                                   accessControl: self.accessControl, logger: logger)
        responder = MiddlewareChain([RequestIdMiddleware(), AccessLogMiddleware(logger: logger)], responder: router)
    }

    // MARK: - Life cycle

    /// Logs the access policy, forgets statuses left by a previous process, registers the demo
    /// models when the registry holds no other models (`demo.enabled`), starts loading the
    /// preload models in the background (readiness waits for them), and queues again the
    /// extraction jobs a previous process left queued or running.
    ///
    /// Returns at once: the demo registration (which may write weights) and the loads run in the
    /// background, so the server answers `/healthz` meanwhile.
    public func start() {
        logAccessPolicy()
        do {
            try registry.resetTransientStatuses()
        } catch {
            logger.error("cannot reset model statuses", ["error": .string(String(describing: error))])
        }
        let demo = configuration.demo.enabled ? DemoModels(configuration: configuration, registry: registry, logger: logger) : nil
        let manager = self.manager
        let preload = configuration.preload
        Task.detached {
            if let demo { _ = try? await BlockingWork.run { demo.registerIfNeeded() } }
            manager.startPreloading(extra: preload)
        }
        manager.startWatchingWeightFiles()
        jobs.resumeInterruptedJobs()
    }

    /// Waits until `/readyz` would answer 200 (for tests and tools); throws after `timeout`.
    public func waitUntilReady(timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !manager.readiness.isReady {
            guard ContinuousClock.now < deadline else {
                throw ServiceError.modelUnavailable(name: "-", version: 0, reason: "not ready after \(timeout): " + manager.readiness.pending.joined(separator: ", "))
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Stops the pre-processing stage and the workers (after the HTTP server has drained): waiting
    /// requests and queued jobs get 503, running ones finish.
    public func shutdown() {
        manager.stopWatchingWeightFiles()
        context.preprocessing.shutdown()
        pool.shutdown()
    }

    /// Tells readiness where to ask whether the server is draining.
    public func setDrainingProbe(_ probe: @escaping @Sendable () -> Bool) {
        context.setDrainingProbe(probe)
    }

    private func logAccessPolicy() {
        switch accessControl.mode {
        case .tokens:
            logger.info("authentication on", ["tokens": .int(accessControl.tokenCount), "admin": .bool(accessControl.allowsAdministration)])
        case .inferenceOnly:
            logger.info("authentication off: inference endpoints open, admin endpoints disabled (set auth_tokens_file to enable them)")
        case .insecureDevelopment:
            logger.warning("insecure_dev_mode: every endpoint, admin included, is open to anyone who can connect; never use it in production")
        }
    }
}
