import Foundation
import HTTP
import Models
import NN
import Tensors

/// `POST /v1/embeddings`: OpenAI's embeddings API over any registered model, through the same path
/// as native features (input preparation, `FeatureExecution`, the worker pool and its batching,
/// post-processing); the body is parsed and the inputs prepared in the pre-processing stage. Errors
/// come in OpenAI's envelope (`OpenAIError`).
///
/// By default an input's embedding is the model's (`EmbeddingConfiguration`: for a BERT, mean
/// pooling of `last_hidden_state`, the Dense layers of a sentence-transformers directory, L2
/// normalization). `layers` embeds from other layers (one item per input and layer, each naming its
/// `layer`; Dense layers are the default embedding's only), `pool` and `normalize` override the
/// model's. Every item reports the tokens its input was run as and whether it was truncated.
struct EmbeddingEndpoints {
    let context: ServiceContext

    /// `POST /v1/embeddings`, errors in OpenAI's envelope.
    func answer(_ request: HTTPRequest, _ requestContext: RequestContext) async throws -> HTTPResponse {
        try await OpenAIError.answering { try await embed(request, requestContext) }
    }

    private func embed(_ request: HTTPRequest, _ requestContext: RequestContext) async throws -> HTTPResponse {
        let deadline = try context.deadline(for: request, context: requestContext)
        switch RequestParameters.mediaType(request) {
        case "application/json", nil: break
        case let type?: throw ServiceError.unsupportedMediaType(type, expected: ["application/json"])
        }
        let stage = context.preprocessing
        let embeddings = try await stage.run(deadline: deadline, disconnection: requestContext.disconnection) {
            try EmbeddingsRequest.parse(request.body.bytes ?? [])
        }.value
        let model = try await context.manager.servedModel(name: embeddings.modelName, version: embeddings.modelVersion)
        do {
            let settings = model.model.embedding
            let (inputs, inputSeconds) = try await stage.run(deadline: deadline, disconnection: requestContext.disconnection) {
                try Self.prepare(embeddings, for: model)
            }
            let usesDefault = embeddings.layers == nil
            let selectors = embeddings.layers ?? [Self.defaultLayer(model.model, images: inputs.tensors["pixel_values"] != nil)]
            let pool = embeddings.pool ?? settings.pooling.map { PoolingMode(rawValue: $0.rawValue)! } ?? PoolingMode.none
            let normalize = embeddings.normalize ?? settings.normalize
            let dense = usesDefault ? settings.dense : []
            if let dimensions = embeddings.dimensions, settings.matryoshkaDimensions.isEmpty {
                throw RequestError(field: "dimensions", "model '\(model.name)' declares no Matryoshka dimensions, so its embeddings cannot be shortened to \(dimensions) (register it with embedding.matryoshka_dimensions)")
            }
            // Dense layers run after pooling and before normalization: the worker pools, this normalizes.
            let postProcessing = FeaturePostProcessing(pool: pool, normalize: normalize && dense.isEmpty && embeddings.dimensions == nil)
            let rows = inputs.rows
            let format = embeddings.encodingFormat
            let outcome = try await FeatureExecution(context: context).run(
                model: model, inputs: inputs, selectors: selectors, postProcessing: postProcessing, deadline: deadline,
                disconnection: requestContext.disconnection
            ) { shapes in
                shapes.reduce(256 + model.name.utf8.count * 6) { total, entry in
                    let count = Tensor.elementCount(entry.shape)
                    return total + rows * (160 + 6 * entry.name.utf8.count) + count * (format == .base64 ? 6 : ResponseSize.maximumJSONElementBytes(.float32))
                }
            }
            var items: [(layer: String, vectors: Tensor)] = []
            for (name, tensor) in outcome.features {
                guard tensor.rank == 2 else {
                    throw RequestError(field: "pool", "layer '\(name)' gives \(tensor.shape) features, not one vector per input: choose pool mean, max or cls")
                }
                var vectors = tensor
                for layer in dense { vectors = layer.apply(vectors) }
                if let dimensions = embeddings.dimensions {
                    guard dimensions <= vectors.shape[1] else {
                        throw RequestError(field: "dimensions", "\(dimensions) is more than the \(vectors.shape[1]) dimensions of layer '\(name)'")
                    }
                    vectors = Self.leadingColumns(vectors, count: dimensions)
                }
                if normalize && (!dense.isEmpty || embeddings.dimensions != nil) { vectors = SentencePooling.l2Normalized(vectors) }
                items.append((name, vectors))
            }
            let answer = EmbeddingsResponse(modelName: embeddings.modelVersion.map { "\(model.name):\($0)" } ?? model.name,
                                            items: items, layerNames: usesDefault ? nil : items.map(\.layer), text: inputs.text)
            let body = try answer.body(format: format)
            try FeatureExecution(context: context).checkSize(body.count)
            let response = HTTPResponse(status: .ok, contentType: "application/json", body: body)
            return ResponseObservation.observe(response, model: model, context: context, arrival: requestContext.arrivalTime,
                                               inputSeconds: inputSeconds, outcome: outcome)
        } catch {
            model.statistics.recordFailure(totalSeconds: WorkerPool.seconds(from: requestContext.arrivalTime, to: .now))
            throw error
        }
    }

    /// The layer a model's embedding comes from: BERT's `last_hidden_state`, CLIP's `image_embeds`
    /// or `text_embeds` (for `images` or texts), otherwise the last layer.
    static func defaultLayer(_ model: LoadedModel, images: Bool = false) -> LayerSelector {
        if case .bert = model.architecture { return .name("last_hidden_state") }
        if case .clip = model.architecture { return .name(images ? "image_embeds" : "text_embeds") }
        return .index(-1)
    }

    /// The request's inputs for the model: texts (with the prompt), token ids, or image data URIs.
    static func prepare(_ request: EmbeddingsRequest, for model: ServedModel) throws -> PreparedInputs {
        let loaded = model.model
        switch request.input {
        case .tokenIds(let ids):
            guard request.promptName == nil else {
                throw RequestError(field: "prompt_name", "applies to text input only; token ids are used as given")
            }
            return try InputPreparation.prepare(tokenIds: ids, for: loaded, modelName: model.name, field: "input", truncation: request.truncate)
        case .strings(let strings):
            // A CLIP takes either: images when every input is an image data URI, texts when none is.
            let imageCount = strings.filter { $0.hasPrefix("data:image/") }.count
            if loaded.architecture.takesText && imageCount > 0 && imageCount < strings.count {
                throw RequestError(field: "input", "mixes \(imageCount) image data URIs with \(strings.count - imageCount) texts; "
                                   + "model '\(model.name)' embeds images or texts, one kind per request")
            }
            if loaded.architecture.isVision && (!loaded.architecture.takesText || imageCount > 0) {
                guard request.truncate == nil else { throw RequestError(field: "truncate", "applies to text input only") }
                guard request.promptName == nil else { throw RequestError(field: "prompt_name", "applies to text input only") }
                var images: [[UInt8]] = []
                for (index, text) in strings.enumerated() {
                    images.append(try Self.imageData(text, field: strings.count == 1 && index == 0 ? "input" : "input[\(index)]"))
                }
                return try InputPreparation.prepare(images: images, for: loaded, modelName: model.name, field: "input")
            }
            var prefix = ""
            if let name = request.promptName ?? loaded.embedding.defaultPromptName {
                guard let prompt = loaded.embedding.prompts[name] else {
                    let known = loaded.embedding.prompts.keys.sorted()
                    throw RequestError(field: "prompt_name", "model '\(model.name)' has no prompt '\(name)'" + (known.isEmpty ? " (it has no prompts)" : "; it has: " + known.joined(separator: ", ")))
                }
                prefix = prompt
            }
            return try InputPreparation.prepare(texts: strings.map { prefix + $0 }, for: loaded, modelName: model.name, field: "input",
                                                truncation: request.truncate)
        }
    }

    /// The bytes of a `data:image/png;base64,…` or `data:image/jpeg;base64,…` URI.
    static func imageData(_ text: String, field: String) throws(RequestError) -> [UInt8] {
        let prefixes = ["data:image/png;base64,", "data:image/jpeg;base64,", "data:image/jpg;base64,"]
        guard let prefix = prefixes.first(where: { text.hasPrefix($0) }) else {
            throw RequestError(field: field, "this is a vision model: expected a data:image/png;base64,… or data:image/jpeg;base64,… URI")
        }
        do {
            let bytes = try Base64.decode(String(text.dropFirst(prefix.count)))
            guard !bytes.isEmpty else { throw RequestError(field: field, "the image is empty") }
            return bytes
        } catch let error as Base64Error {
            throw RequestError(field: field, error.description)
        } catch let error as RequestError {
            throw error
        } catch {
            throw RequestError(field: field, "\(error)")
        }
    }

    /// The first `count` columns of [rows, width].
    static func leadingColumns(_ vectors: Tensor, count: Int) -> Tensor {
        let rows = vectors.shape[0], width = vectors.shape[1]
        let values = vectors.to(.float32).toArray()
        var kept: [Float] = []
        kept.reserveCapacity(rows * count)
        for row in 0..<rows { kept.append(contentsOf: values[(row * width)..<(row * width + count)]) }
        return Tensor(shape: [rows, count], scalars: kept)
    }
}
