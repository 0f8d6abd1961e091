/// How a request body reaches the handler.
public enum HTTPBodyPolicy: Sendable, Equatable {
    /// Read completely before the handler runs; over `maxSize` (nil: the server's
    /// `limits.maxBodySize`) the request is answered 413 without running the handler.
    case buffered(maxSize: Int? = nil)
    /// The handler runs as soon as the head arrives and reads `request.body` as a stream of chunks;
    /// past `maxSize` (nil: the server's limit) the stream throws a 413 `HTTPError`.
    case streaming(maxSize: Int? = nil)

    /// The limit this policy sets, if any.
    var maxSize: Int? {
        switch self {
        case .buffered(let size), .streaming(let size): size
        }
    }
}
