import Configuration
import HTTP
import Logging

/// The service behind its HTTP server: what `periscope serve` runs and what the live tests start
/// on a loopback port chosen by the OS.
public final class ServiceServer: Sendable {
    public let application: ServiceApplication
    public let http: HTTPServer

    /// Builds the application (registry, workers, routes) and its HTTP server; nothing listens yet.
    public init(configuration: PeriscopeConfiguration, logger: Logger, accessControl: AccessControl? = nil) throws {
        application = try ServiceApplication(configuration: configuration, logger: logger, accessControl: accessControl)
        http = HTTPServer(configuration: Self.httpConfiguration(configuration), responder: application.responder, logger: logger)
        // Weak: the HTTP server holds the application's responder, which holds the context this probe
        // is stored in; a strong capture made a cycle that kept the whole service alive (LeakSanitizer).
        application.setDrainingProbe { [weak http] in http?.isDraining ?? true }
    }

    /// Listens, then starts registering demo models and loading the preload ones in the background.
    public func start() throws {
        try http.start()
        application.start()
    }

    /// The bound port (the OS's choice when configured with port 0).
    public var port: Int { http.port }

    /// Drains the HTTP server (in-flight requests finish, new ones get 503) and stops the workers.
    public func stop(drainTimeout: Duration? = nil) async {
        await http.shutdown(drainTimeout: drainTimeout ?? .milliseconds(application.configuration.http.drainTimeoutMilliseconds))
        application.shutdown()
    }

    /// Serves until SIGTERM or SIGINT (watched from when `signals` was made: make it before
    /// announcing readiness), then drains (within `http.drain_timeout_ms`) and stops.
    /// Returns the signal.
    @discardableResult
    public func runUntilSignal(_ signals: ShutdownSignals = ShutdownSignals()) async -> Int32 {
        let drain = Duration.milliseconds(application.configuration.http.drainTimeoutMilliseconds)
        let signal = await http.runUntilSignal(signals, drainTimeout: drain)
        application.shutdown()
        application.logger.info("service stopped", ["signal": .int(Int(signal))])
        return signal
    }

    /// Returns the allocator's free pages to the system every `MemoryTrim.servingReleaseInterval`
    /// seconds for the life of the process, so resident memory follows live memory under
    /// concurrent load instead of growing with heap fragmentation. Process-wide, so
    /// `periscope serve` calls it once at start. Returns whether the allocator supports it.
    @discardableResult
    public static func configureAllocatorForServing() -> Bool {
        MemoryTrim.startPeriodicRelease(every: MemoryTrim.servingReleaseInterval)
    }

    /// The HTTP server settings from the service configuration.
    public static func httpConfiguration(_ configuration: PeriscopeConfiguration) -> HTTPServerConfiguration {
        let http = configuration.http
        return HTTPServerConfiguration(
            host: configuration.host, port: configuration.port,
            limits: HTTPParserLimits(maxRequestLineSize: min(8 * 1024, http.maxHeaderBytes), maxHeadSize: http.maxHeaderBytes,
                                     maxHeaderCount: http.maxHeaderCount, maxBodySize: http.maxBodyBytes),
            maxConnections: http.maxConnections, headerReadTimeout: .milliseconds(http.headerTimeoutMilliseconds),
            idleTimeout: .milliseconds(http.idleTimeoutMilliseconds), bodyReadTimeout: .milliseconds(http.bodyTimeoutMilliseconds),
            writeTimeout: .milliseconds(http.writeTimeoutMilliseconds))
    }

    /// The HTTP logger level for a configured `log_level` (HTTP knows debug, info, warning, error).
    public static func logLevel(_ level: PeriscopeConfiguration.LogLevel) -> LogLevel {
        switch level {
        case .trace, .debug: .debug
        case .info, .notice: .info
        case .warning: .warning
        case .error, .critical: .error
        }
    }
}
