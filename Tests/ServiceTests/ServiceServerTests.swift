import Configuration
import Foundation
import HTTP
import Testing
@testable import Service

/// `ServiceServer`'s object graph: nothing keeps it alive once it has stopped and is dropped.
@Suite struct ServiceServerTests {
    // MARK: - Sanitizer regressions

    /// The draining probe captured the HTTP server strongly; the server holds the application's
    /// responder, which holds the context the probe is stored in, so the whole service (workers,
    /// registry connection, metrics) leaked — LeakSanitizer reported it when `periscope serve` exited.
    @Test(arguments: [false, true])
    func releasedOnceStoppedAndDropped(started: Bool) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("periscope-server-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let flags = ["data_dir": directory.path, "port": "0", "workers": "1", "intra_op_threads": "1", "demo.enabled": "false"]
        let configuration = try PeriscopeConfiguration.load(environment: ["HOME": directory.path], flags: flags)
        weak var weakServer: ServiceServer?
        weak var weakApplication: ServiceApplication?
        weak var weakHTTP: HTTPServer?
        do {
            let server = try ServiceServer(configuration: configuration, logger: .disabled, accessControl: .insecureDevelopment)
            weakServer = server
            weakApplication = server.application
            weakHTTP = server.http
            if started {
                try server.start()
                #expect(!server.application.context.isDraining)
            }
            await server.stop(drainTimeout: .seconds(5))
        }
        #expect(weakServer == nil)
        #expect(weakHTTP == nil)
        #expect(weakApplication == nil)
    }
}
