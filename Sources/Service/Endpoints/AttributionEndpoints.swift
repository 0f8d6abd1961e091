import HTTP
import Models
import NN
import Tensors

/// `POST /v1/models/{name}/attributions`: gradients of a target with respect to the input and to
/// named layers (saliency), or Grad-CAM maps, in the encodings of features — JSON (numbers or
/// base64) under `"attributions"`, or with `Accept: application/octet-stream` a safetensors body
/// with the keys `input_grad`, `grad:<layer>`, `gradcam:<layer>`. The body is an
/// `AttributionsRequest` (JSON only), parsed and its inputs prepared in the pre-processing stage.
struct AttributionEndpoints {
    let context: ServiceContext

    func attribute(_ request: HTTPRequest, _ requestContext: RequestContext) async throws -> HTTPResponse {
        let deadline = try context.deadline(for: request, context: requestContext)
        let stage = context.preprocessing
        let attributions = try await stage.run(deadline: deadline, disconnection: requestContext.disconnection) { try Self.parse(request) }.value
        let model = try await context.manager.servedModel(name: request.pathParameter("name"), version: nil)
        do {
            let (inputs, inputSeconds) = try await stage.run(deadline: deadline, disconnection: requestContext.disconnection) {
                try InputPreparation.prepare(attributions.input, for: model.model, modelName: model.name)
            }
            let safetensors = FeatureEndpoints.prefersSafetensors(request.headers)
            let dtype = attributions.dtype.dtype
            let outcome = try await FeatureExecution(context: context).runAttribution(
                model: model, inputs: inputs, request: attributions.attribution, dtype: attributions.dtype, deadline: deadline,
                disconnection: requestContext.disconnection
            ) { shapes in
                FeatureEndpoints.maximumResponseBytes(shapes, dtype: dtype, safetensors: safetensors,
                                                      encoding: attributions.encoding, model: model)
            }
            var answer = FeaturesResponse(modelName: model.name, modelVersion: String(model.version), features: outcome.features,
                                          queueMilliseconds: outcome.queueSeconds * 1000, computeMilliseconds: outcome.computeSeconds * 1000,
                                          collection: "attributions")
            answer.textInputs = inputs.text
            let response = try FeatureEndpoints.response(answer, safetensors: safetensors, encoding: attributions.encoding)
            return ResponseObservation.observe(response, model: model, context: context, arrival: requestContext.arrivalTime,
                                               inputSeconds: inputSeconds, outcome: outcome)
        } catch {
            model.statistics.recordFailure(totalSeconds: WorkerPool.seconds(from: requestContext.arrivalTime, to: .now))
            throw error
        }
    }

    /// The request from a JSON body (openapi.yaml takes no other media type here).
    static func parse(_ request: HTTPRequest) throws -> AttributionsRequest {
        switch RequestParameters.mediaType(request) {
        case "application/json", nil: return try AttributionsRequest.parse(request.body.bytes ?? [])
        case let type?: throw ServiceError.unsupportedMediaType(type, expected: ["application/json"])
        }
    }
}
