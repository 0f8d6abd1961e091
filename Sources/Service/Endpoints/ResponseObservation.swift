import HTTP

/// Wraps a response's streamed body so that when it has been sent, the encode time goes to the
/// metrics and the whole request to the model's statistics (Triton's `compute_output` includes
/// post-processing and encoding).
enum ResponseObservation {
    static func observe(_ response: HTTPResponse, model: ServedModel, context: ServiceContext, arrival: ContinuousClock.Instant,
                        inputSeconds: Double, outcome: FeatureOutcome) -> HTTPResponse {
        let metrics = context.metrics
        let record: @Sendable (Double) -> Void = { encodeSeconds in
            metrics.observeEncode(model: model.name, seconds: encodeSeconds)
            model.statistics.recordSuccess(totalSeconds: WorkerPool.seconds(from: arrival, to: .now), queueSeconds: outcome.queueSeconds,
                                           inputSeconds: inputSeconds, inferSeconds: outcome.computeSeconds,
                                           outputSeconds: outcome.outputSeconds + encodeSeconds)
        }
        var observed = response
        switch response.body {
        case .stream(let producer):
            observed.body = .stream { writer in
                let started = ContinuousClock.now
                try await producer(writer)
                record(WorkerPool.seconds(from: started, to: .now))
            }
        case .empty, .bytes:
            record(0)
        }
        return observed
    }
}
