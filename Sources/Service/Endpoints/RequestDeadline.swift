import HTTP

/// A request's deadline: `X-Request-Timeout-Ms` (1 … `max_request_timeout_ms`) or the default
/// `request_timeout_ms`, counted from the request's arrival.
struct RequestDeadline: Sendable {
    /// The header that sets it.
    static let headerName = "X-Request-Timeout-Ms"

    let milliseconds: Int
    let instant: ContinuousClock.Instant

    /// Reads the header; a value that is not an integer in range is a 400 naming the header.
    init(headers: HTTPHeaders, arrival: ContinuousClock.Instant, defaultMilliseconds: Int, maximumMilliseconds: Int) throws(ServiceError) {
        var milliseconds = defaultMilliseconds
        if let text = headers[Self.headerName] {
            guard let value = Int(text.trimmingASCIISpaces()), value >= 1 else {
                throw .invalidHeader(name: Self.headerName, problem: "'\(text)' is not a positive integer of milliseconds")
            }
            guard value <= maximumMilliseconds else {
                throw .invalidHeader(name: Self.headerName, problem: "\(value) is above max_request_timeout_ms (\(maximumMilliseconds))")
            }
            milliseconds = value
        }
        self.milliseconds = milliseconds
        instant = arrival + .milliseconds(milliseconds)
    }

    /// Whether the deadline has passed.
    var hasPassed: Bool { ContinuousClock.now >= instant }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    func trimmingASCIISpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
