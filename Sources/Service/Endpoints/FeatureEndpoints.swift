import HTTP
import Models
import NN
import Tensors

/// `POST /v1/models/{name}[/versions/{version}]/features`: the layers a request names, as JSON
/// (numbers or base64) or, with `Accept: application/octet-stream`, a safetensors body. The body is
/// a `FeaturesRequest` (JSON), or a raw JPEG/PNG image with the options in the query. Parsing it
/// and preparing its inputs run in the pre-processing stage.
struct FeatureEndpoints {
    let context: ServiceContext

    func extract(_ request: HTTPRequest, _ requestContext: RequestContext, version: Int?) async throws -> HTTPResponse {
        let deadline = try context.deadline(for: request, context: requestContext)
        let stage = context.preprocessing
        let features = try await stage.run(deadline: deadline, disconnection: requestContext.disconnection) { try Self.parse(request) }.value
        let model = try await context.manager.servedModel(name: request.pathParameter("name"), version: version)
        do {
            let (inputs, inputSeconds) = try await stage.run(deadline: deadline, disconnection: requestContext.disconnection) {
                try InputPreparation.prepare(features.input, for: model.model, modelName: model.name,
                                             truncation: features.truncate, returnTokens: features.returnTokens)
            }
            let safetensors = Self.prefersSafetensors(request.headers)
            let postProcessing = FeaturePostProcessing(features)
            let sizeBound: FeatureExecution.SizeBound = { shapes in
                Self.maximumResponseBytes(shapes, dtype: postProcessing.dtype.dtype, safetensors: safetensors,
                                          encoding: features.encoding, model: model)
            }
            let execution = FeatureExecution(context: context)
            var (cacheRequest, cacheStatus) = FeatureCacheRequest.make(cache: context.cache, model: model, inputs: inputs,
                                                                       postProcessing: postProcessing, headers: request.headers)
            let outcome: FeatureOutcome
            if let cacheRequest, cacheRequest.readsCache,
               let cached = try await cachedOutcome(cacheRequest, model: model, inputs: inputs, selectors: features.layers,
                                                         deadline: deadline, disconnection: requestContext.disconnection) {
                // Every (input, layer) was cached: answered without a forward pass.
                try execution.checkSize(sizeBound(cached.features.map { ($0.name, $0.tensor.shape) }))
                outcome = cached
                cacheStatus = .hit
            } else {
                outcome = try await execution.run(
                    model: model, inputs: inputs, selectors: features.layers, postProcessing: postProcessing, deadline: deadline,
                    disconnection: requestContext.disconnection, sizeBound: sizeBound)
                cacheRequest?.store(outcome.features)
            }
            var answer = FeaturesResponse(modelName: model.name, modelVersion: String(model.version), features: outcome.features,
                                          queueMilliseconds: outcome.queueSeconds * 1000, computeMilliseconds: outcome.computeSeconds * 1000)
            answer.textInputs = inputs.text
            var response = try Self.response(answer, safetensors: safetensors, encoding: features.encoding, nonFinite: features.nonFinite)
            if let cacheStatus { response.headers.replaceOrAdd(name: FeatureCacheStatus.headerName, value: cacheStatus.rawValue) }
            return ResponseObservation.observe(response, model: model, context: context, arrival: requestContext.arrivalTime,
                                               inputSeconds: inputSeconds, outcome: outcome)
        } catch {
            model.statistics.recordFailure(totalSeconds: WorkerPool.seconds(from: requestContext.arrivalTime, to: .now))
            throw error
        }
    }

    /// The request's features from the cache when every (input, layer) is there, else nil. The
    /// answered names come from the layer plan (resolving selectors and aliases exactly as a
    /// computed answer would), which is cached per input shape after warm-up.
    private func cachedOutcome(_ cacheRequest: FeatureCacheRequest, model: ServedModel, inputs: PreparedInputs,
                                      selectors: [LayerSelector], deadline: RequestDeadline,
                                      disconnection: ClientDisconnection?) async throws -> FeatureOutcome? {
        let plan = try await FeaturePlan.make(model: model, inputs: inputs, selectors: selectors, pool: context.pool,
                                              deadline: deadline, disconnection: disconnection)
        guard let features = cacheRequest.cachedFeatures(names: plan.shapes.map(\.name)) else { return nil }
        return FeatureOutcome(features: features, queueSeconds: 0, computeSeconds: 0, outputSeconds: 0, batchSize: 0, batchRows: inputs.rows)
    }

    // MARK: - Parsing

    /// The request from a JSON body, or a raw image body with the options in the query. The query
    /// options are checked whatever the body (a bad value is a 400 even where they do not apply).
    static func parse(_ request: HTTPRequest) throws -> FeaturesRequest {
        let body = request.body.bytes ?? []
        let options = try imageRequest([], query: request.head)
        switch RequestParameters.mediaType(request) {
        case "application/json", nil:
            return try FeaturesRequest.parse(body)
        case "image/jpeg", "image/png":
            guard !body.isEmpty else { throw RequestError(field: "$", "the image body is empty") }
            var image = options
            image.input = .images([body])
            return image
        case let type?:
            throw ServiceError.unsupportedMediaType(type, expected: ["application/json", "image/jpeg", "image/png"])
        }
    }

    /// A raw image with `layers`, `pool`, `flatten`, `normalize`, `dtype`, `encoding`, `nonfinite` from the query.
    private static func imageRequest(_ image: [UInt8], query head: HTTPRequestHead) throws -> FeaturesRequest {
        var request = FeaturesRequest(input: .images([image]))
        if let text = head.queryValue(named: "layers") {
            let items = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingASCIISpaces() }
            guard !items.isEmpty, items.allSatisfy({ !$0.isEmpty }) else {
                throw RequestError(field: "layers", "expected comma-separated layer names or indices, got '\(text)'")
            }
            request.layers = items.map { Int($0).map(LayerSelector.index) ?? .name($0) }
        }
        request.pool = try choice(head, "pool", as: PoolingMode.self) ?? .none
        request.dtype = try choice(head, "dtype", as: OutputDType.self) ?? .float32
        request.encoding = try choice(head, "encoding", as: FeatureEncoding.self) ?? .json
        request.nonFinite = try choice(head, "nonfinite", as: NonFinitePolicy.self) ?? .error
        request.normalize = try flag(head, "normalize") ?? false
        request.flatten = try flag(head, "flatten") ?? false
        return request
    }

    private static func choice<Choice: RawRepresentable & CaseIterable>(_ head: HTTPRequestHead, _ name: String, as type: Choice.Type) throws(RequestError) -> Choice?
    where Choice.RawValue == String {
        guard let text = head.queryValue(named: name) else { return nil }
        guard let value = Choice(rawValue: text) else {
            throw RequestError(field: name, "'\(text)' is not one of: \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    private static func flag(_ head: HTTPRequestHead, _ name: String) throws(RequestError) -> Bool? {
        guard let text = head.queryValue(named: name) else { return nil }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw RequestError(field: name, "'\(text)' is not true or false")
        }
    }

    /// The largest body an answer with these shapes can take in the chosen encoding (checked
    /// before the job runs, and again after; features and attributions alike).
    static func maximumResponseBytes(_ shapes: [(name: String, shape: [Int])], dtype: DType, safetensors: Bool,
                                     encoding: FeatureEncoding, model: ServedModel) -> Int {
        safetensors
            ? ResponseSize.maximumSafetensorsBytes(shapes, dtype: dtype)
            : ResponseSize.maximumFeaturesJSONBytes(shapes, dtype: dtype, encoding: encoding, layout: .flat,
                                                    modelName: model.name, modelVersion: String(model.version))
    }

    /// The answer as a safetensors body or as JSON.
    static func response(_ answer: FeaturesResponse, safetensors: Bool, encoding: FeatureEncoding,
                         nonFinite: NonFinitePolicy = .error) throws -> HTTPResponse {
        safetensors
            ? try answer.safetensorsBody().httpResponse(contentType: "application/octet-stream")
            : try answer.jsonBody(encoding: encoding, nonFinite: nonFinite).httpResponse(contentType: "application/json")
    }

    /// Whether `Accept` prefers `application/octet-stream` (a safetensors body) over JSON: it must
    /// be listed with a higher quality than JSON (explicit or by wildcard). JSON is the default.
    static func prefersSafetensors(_ headers: HTTPHeaders) -> Bool {
        var json = 0.0, binary = 0.0, wildcard = 0.0
        for item in headers.commaSeparatedValues(for: "accept") {
            let parts = item.split(separator: ";").map { String($0).trimmingASCIISpaces() }
            guard let type = parts.first?.lowercased() else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.lowercased().hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            switch type {
            case "application/json": json = max(json, quality)
            case "application/octet-stream": binary = max(binary, quality)
            case "*/*", "application/*": wildcard = max(wildcard, quality)
            default: break
            }
        }
        return binary > 0 && binary > max(json, json == 0 ? wildcard : 0)
    }
}
