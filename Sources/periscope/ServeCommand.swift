import CommandLineSupport
import Configuration
import Dispatch
import HTTP
import Logging
import Service

// `periscope serve …`: the HTTP service until SIGTERM/SIGINT, then a graceful drain and exit 0.

/// `serve [--config FILE] [--host H] [--port N] [--workers N] [--db PATH] [--model-root DIR]
/// [--data-dir DIR] [--insecure-dev]`: flags override `PERISCOPE_*` variables, which override the
/// file. With no configuration at all it creates its data directory and registry, registers and
/// preloads the demo models, and answers on 127.0.0.1:8080.
enum ServeCommand {
    static let usage = "serve [--config FILE] [--host H] [--port N] [--workers N] [--db PATH] [--model-root DIR] [--data-dir DIR] [--insecure-dev]"

    static let flags = CommandLineArguments.registryConfigurationFlags.merging(
        ["host": "host", "port": "port", "workers": "workers"], uniquingKeysWith: { first, _ in first })

    static func run(_ arguments: inout CommandLineArguments) throws {
        let insecure = arguments.flag("insecure-dev")
        var configuration = try arguments.configuration(fileFlag: "config", flags: flags)
        try arguments.finish()
        if insecure { configuration.insecureDevMode = true }
        let logger = Logger(label: "periscope", minimumLevel: ServiceServer.logLevel(configuration.logLevel))
        if !ServiceServer.configureAllocatorForServing() {
            logger.warning("malloc_trim is not available; resident memory may grow under load")
        }
        let server = try ServiceServer(configuration: configuration, logger: logger)
        try server.start()
        // Watched before the start is announced: a SIGTERM right after it drains, never kills.
        let shutdownSignals = ShutdownSignals()
        logger.info("service started", [
            "address": .string("\(configuration.host):\(server.port)"), "workers": .int(configuration.workers),
            "intra_op_threads": .int(configuration.intraOpThreads), "queue_size": .int(configuration.queueSize),
            "batching": .bool(configuration.batching.enabled), "data_dir": .string(configuration.dataDirectory),
            "access": .string(server.application.accessControl.mode.rawValue),
        ])
        // The main thread waits; the server runs on its own threads and tasks.
        let stopped = DispatchSemaphore(value: 0)
        Task.detached {
            await server.runUntilSignal(shutdownSignals)
            stopped.signal()
        }
        stopped.wait()
    }
}
