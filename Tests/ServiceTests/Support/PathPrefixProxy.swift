import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTP
import Synchronization

/// A reverse proxy that mounts a live service under a path prefix (`/periscope/…` → `/…`), as a
/// proxy in front of the Inspector would; it answers 404 outside the prefix and records every path
/// it was asked for.
final class PathPrefixProxy: Sendable {
    let prefix: String
    private let server: HTTPServer
    private let session: URLSession
    private let log: Log

    /// The targets seen so far.
    private final class Log: Sendable {
        let targets = Mutex<[String]>([])
    }

    var port: Int { server.port }
    /// Every request target, in arrival order.
    var paths: [String] { log.targets.withLock { $0 } }

    init(prefix: String, upstreamPort: Int) throws {
        self.prefix = prefix
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 300
        let session = URLSession(configuration: configuration)
        self.session = session
        let log = Log()
        self.log = log
        server = HTTPServer(configuration: HTTPServerConfiguration(port: 0), responder: ResponderFunction { request, _ in
            log.targets.withLock { $0.append(request.head.target) }
            return try await Self.forward(request, prefix: prefix, upstreamPort: upstreamPort, session: session)
        }, logger: .disabled)
        try server.start()
    }

    func stop() async {
        await server.shutdown(drainTimeout: .seconds(2))
        session.invalidateAndCancel()
    }

    private static func forward(_ request: HTTPRequest, prefix: String, upstreamPort: Int, session: URLSession) async throws -> HTTPResponse {
        let target = request.head.target
        guard target.hasPrefix(prefix + "/") else { return HTTPResponse(status: .notFound) }
        var upstream = URLRequest(url: URL(string: "http://127.0.0.1:\(upstreamPort)" + target.dropFirst(prefix.count))!)
        upstream.httpMethod = request.method.rawValue
        for field in request.headers where !["host", "connection", "content-length", "transfer-encoding"].contains(field.name.lowercased()) {
            upstream.addValue(field.value, forHTTPHeaderField: field.name)
        }
        let body = try await request.body.collect()
        if !body.isEmpty { upstream.httpBody = Data(body) }
        let (data, response) = try await session.data(for: upstream)
        let http = response as! HTTPURLResponse
        var headers = HTTPHeaders()
        for (name, value) in http.allHeaderFields {
            let name = String(describing: name)
            guard !["content-length", "transfer-encoding", "connection", "date", "server", "x-request-id"].contains(name.lowercased()) else { continue }
            headers.add(name: name, value: String(describing: value))
        }
        return HTTPResponse(status: HTTPStatus(code: http.statusCode), headers: headers, body: data.isEmpty ? .empty : .bytes(Array(data)))
    }
}
