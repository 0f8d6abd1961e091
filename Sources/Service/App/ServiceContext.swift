import Configuration
import HTTP
import Logging
import Registry
import Synchronization

/// The parts of the service every endpoint uses: configuration, logger, registry, pre-processing
/// stage, worker pool, model manager, metrics, and whether the server is draining.
public final class ServiceContext: Sendable {
    public let configuration: PeriscopeConfiguration
    public let logger: Logger
    public let registry: ModelRegistry
    public let preprocessing: PreprocessingStage
    public let pool: WorkerPool
    public let manager: ModelManager
    public let metrics: ServiceMetrics
    /// The feature cache; nil when `cache.enabled` is false or its file cannot be opened.
    public let cache: FeatureCache?
    private let drainingProbe = Mutex<(@Sendable () -> Bool)?>(nil)

    init(configuration: PeriscopeConfiguration, logger: Logger, registry: ModelRegistry, preprocessing: PreprocessingStage,
         pool: WorkerPool, manager: ModelManager, metrics: ServiceMetrics, cache: FeatureCache?) {
        self.configuration = configuration
        self.logger = logger
        self.registry = registry
        self.preprocessing = preprocessing
        self.pool = pool
        self.manager = manager
        self.metrics = metrics
        self.cache = cache
    }

    /// Tells readiness where to ask whether the server is draining.
    func setDrainingProbe(_ probe: @escaping @Sendable () -> Bool) {
        drainingProbe.withLock { $0 = probe }
    }

    /// Whether the server is shutting down.
    public var isDraining: Bool { drainingProbe.withLock { $0 }?() ?? false }

    /// A request's deadline from its headers and the configured defaults.
    func deadline(for request: HTTPRequest, context: RequestContext) throws(ServiceError) -> RequestDeadline {
        try RequestDeadline(headers: request.headers, arrival: context.arrivalTime,
                            defaultMilliseconds: configuration.requestTimeoutMilliseconds,
                            maximumMilliseconds: configuration.maxRequestTimeoutMilliseconds)
    }
}
