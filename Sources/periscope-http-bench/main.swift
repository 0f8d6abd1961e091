import HTTP
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Writes a line to standard error.
func printError(_ text: String) {
    var line = Array((text + "\n").utf8)
    _ = write(2, &line, line.count)
}

// A minimal server built from the HTTP target for `scripts/bench-http`: `GET /healthz` answers
// `ok`, through the router and the request-id and error middleware (access logging is off, like
// nginx's `access_log off` in the comparison). SIGTERM/SIGINT drain and exit 0.
//
//   periscope-http-bench [--host H] [--port N] [--threads T] [--handler-threads H] [--access-log]

var configuration = HTTPServerConfiguration(port: 0)
var accessLog = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--host": configuration.host = arguments.popFirst() ?? configuration.host
    case "--port": configuration.port = arguments.popFirst().flatMap { Int($0) } ?? configuration.port
    case "--threads": configuration.eventLoopThreads = arguments.popFirst().flatMap { Int($0) } ?? 1
    case "--handler-threads": configuration.handlerThreads = arguments.popFirst().flatMap { Int($0) } ?? 0
    case "--access-log": accessLog = true
    default:
        printError("usage: periscope-http-bench [--host H] [--port N] [--threads T] [--handler-threads H] [--access-log]")
        exit(1)
    }
}

let logger = Logger(label: "http-bench", minimumLevel: .warning)
var router = Router()
router.get("/healthz") { _, _ in HTTPResponse.text("ok\n") }
var middleware: [any HTTPMiddleware] = [RequestIdMiddleware()]
if accessLog { middleware.append(AccessLogMiddleware(logger: Logger(label: "access"))) }
middleware.append(ErrorMiddleware(logger: logger))
let server = HTTPServer(configuration: configuration, responder: MiddlewareChain(middleware, responder: router), logger: logger)
do {
    try server.start()
} catch {
    printError("periscope-http-bench: \(error)")
    exit(1)
}
// Watched before the line below: a SIGTERM sent as soon as it is read must drain, not kill.
let shutdownSignals = ShutdownSignals()
// The bench script waits for this line; write(2) so it is not stuck in a stdio buffer.
var ready = Array("listening on \(server.port)\n".utf8)
_ = write(1, &ready, ready.count)
await server.runUntilSignal(shutdownSignals, drainTimeout: .seconds(5))
exit(0)
