/// The producing side of a streaming request body created with `HTTPRequestBody.makeStream()`.
public struct HTTPRequestBodyWriter: Sendable {
    let stream: HTTPBodyStream

    /// Adds a chunk; returns whether the consumer is behind by more than the high-water mark.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool { stream.append(bytes) }
    /// Ends the body.
    public func finish() { stream.finish() }
    /// Ends the body with an error the consumer's next read throws.
    public func fail(_ error: any Error) { stream.fail(error) }
}
