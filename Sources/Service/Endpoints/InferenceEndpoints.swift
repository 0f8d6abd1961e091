import Foundation
import HTTP
import Models
import NN
import Tensors

/// The Open Inference Protocol (KServe V2 / Triton) for models: metadata, readiness, inference
/// with layer names as outputs (JSON and Triton's binary tensor extension), and statistics. An
/// inference request is parsed and its inputs prepared in the pre-processing stage.
struct InferenceEndpoints {
    let context: ServiceContext

    // MARK: - Metadata

    /// Inputs with datatypes and shapes (-1: any size) and the final output, from the architecture
    /// (no load needed).
    func metadata(_ request: HTTPRequest, version: Int?) throws -> HTTPResponse {
        let name = request.pathParameter("model")
        let record = try context.manager.record(name: name, version: version)
        let architecture: Architecture
        if try ArchitectureRegistry.isONNX(named: record.architecture, configuration: nil) {
            // An imported graph's inputs and outputs are in its file: describe the loaded model.
            guard let served = context.manager.readyModel(ModelKey(record)) else {
                throw ServiceError.modelUnavailable(name: record.name, version: record.version,
                                                    reason: "not loaded (an ONNX model's metadata comes from its file)")
            }
            architecture = served.model.architecture
        } else {
            architecture = try ArchitectureRegistry.architecture(named: record.architecture, configuration: Data(record.configuration.utf8))
        }
        let versions = try context.registry.model(named: name).versions.map { String($0.version) }
        let buffer = JSONOutputBuffer(capacity: 512)
        buffer.append(raw: #"{"name":"#)
        buffer.append(string: record.name)
        buffer.append(raw: #","versions":["#)
        for (index, version) in versions.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(string: version)
        }
        buffer.append(raw: #"],"platform":"#)
        buffer.append(string: "periscope_" + architecture.family)
        // Not in the protocol's required fields; clients ignore what they do not know.
        buffer.append(raw: #","precision":"#)
        buffer.append(string: record.precision.rawValue)
        buffer.append(raw: #","inputs":["#)
        for (index, input) in architecture.inputs.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            Self.appendTensor(name: input.name, datatype: V2Datatype(input.dtypes[0]).rawValue,
                              shape: input.shape.map(Self.dimension), to: buffer)
        }
        buffer.append(raw: #"],"outputs":["#)
        Self.appendTensor(name: architecture.outputName, datatype: "FP32", shape: Self.outputShape(architecture), to: buffer)
        buffer.append(raw: "]}")
        return .json(bytes: buffer.takeBytes())
    }

    private static func appendTensor(name: String, datatype: String, shape: [Int], to buffer: JSONOutputBuffer) {
        buffer.append(raw: #"{"name":"#)
        buffer.append(string: name)
        buffer.append(raw: #","datatype":"#)
        buffer.append(string: datatype)
        buffer.append(raw: #","shape":"#)
        buffer.append(integers: shape)
        buffer.append(UInt8(ascii: "}"))
    }

    /// A dimension as V2 writes it: its size, or -1 when any size goes.
    private static func dimension(_ dimension: InputSpecification.Dimension) -> Int {
        if case .fixed(let size) = dimension { return size }
        return -1
    }

    /// The shape of the model's final output.
    static func outputShape(_ architecture: Architecture) -> [Int] {
        switch architecture {
        case .resnet(let configuration): [-1, configuration.numClasses]
        case .visionTransformer(let configuration): [-1, configuration.numClasses]
        case .convNeXt(let configuration): [-1, configuration.numClasses]
        case .mlp(let configuration): [-1, configuration.hiddenChannels.last ?? configuration.inChannels]
        case .bert(let configuration): [-1, -1, configuration.hiddenSize]
        case .dinov2(let configuration): [-1, -1, configuration.hiddenSize]
        // One tower's embeddings (image or text) per request; [images, texts] logits with both.
        case .clip(let configuration): [-1, configuration.projectionDim]
        case .onnx(let model):
            (model.plan.outputInfos.first?.shape ?? []).map { dimension in
                if case .value(let size) = dimension { return size }
                return -1
            }
        }
    }

    // MARK: - Readiness

    /// 200 when the version is loaded and warm, 503 when not, 404 when unknown.
    func ready(_ request: HTTPRequest, version: Int?) throws -> HTTPResponse {
        let record = try context.manager.record(name: request.pathParameter("model"), version: version)
        let key = ModelKey(record)
        guard context.manager.readyModel(key) != nil else {
            throw ServiceError.modelUnavailable(name: key.name, version: key.version, reason: context.manager.phaseName(of: key) ?? "not loaded")
        }
        return HTTPResponse(status: .ok)
    }

    // MARK: - Inference

    func infer(_ request: HTTPRequest, _ requestContext: RequestContext, version: Int?) async throws -> HTTPResponse {
        let deadline = try context.deadline(for: request, context: requestContext)
        let body = request.body.bytes ?? []
        let headerLength = try InferenceRequest.headerLength(from: request.headers)
        switch RequestParameters.mediaType(request) {
        case "application/json", "application/octet-stream", nil: break
        case let type?: throw ServiceError.unsupportedMediaType(type, expected: ["application/json", "application/octet-stream"])
        }
        let stage = context.preprocessing
        let inference = try await stage.run(deadline: deadline, disconnection: requestContext.disconnection) {
            try InferenceRequest.parse(body, headerLength: headerLength)
        }.value
        let model = try await context.manager.servedModel(name: request.pathParameter("model"), version: version)
        do {
            let (inputs, inputSeconds) = try await stage.run(deadline: deadline, disconnection: requestContext.disconnection) {
                try Self.prepare(inference, for: model)
            }
            let selectors = inference.outputs.isEmpty ? [LayerSelector.name(model.model.outputName)] : inference.outputs.map { .name($0.name) }
            let requested = Dictionary(inference.outputs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            func binary(_ name: String) -> Bool { inference.wantsBinary(requested[name] ?? .init(name: name)) }
            let outcome = try await FeatureExecution(context: context).run(
                model: model, inputs: inputs, selectors: selectors, postProcessing: FeaturePostProcessing(), deadline: deadline,
                disconnection: requestContext.disconnection
            ) { shapes in
                shapes.reduce(512) { total, entry in
                    let count = Tensor.elementCount(entry.shape)
                    return total + 128 + 2 * entry.name.utf8.count
                        + count * (binary(entry.name) ? 4 : ResponseSize.maximumJSONElementBytes(.float32))
                }
            }
            // Requested outputs in request order, then whatever a glob added, in capture order.
            var ordered: [(name: String, tensor: Tensor)] = []
            for output in inference.outputs {
                if let feature = outcome.features.first(where: { $0.name == output.name }) { ordered.append(feature) }
            }
            for feature in outcome.features where !ordered.contains(where: { $0.name == feature.name }) { ordered.append(feature) }
            let answer = InferenceResponse(modelName: model.name, modelVersion: String(model.version), id: inference.id,
                                           outputs: ordered.map { .init(name: $0.name, tensor: $0.tensor, binary: binary($0.name)) })
            let (headers, encoded) = try answer.encoded(nonFinite: .error)
            let response = try encoded.httpResponse(contentType: headers["Content-Type"] ?? "application/json", headers: headers)
            return ResponseObservation.observe(response, model: model, context: context, arrival: requestContext.arrivalTime,
                                               inputSeconds: inputSeconds, outcome: outcome)
        } catch {
            model.statistics.recordFailure(totalSeconds: WorkerPool.seconds(from: requestContext.arrivalTime, to: .now))
            throw error
        }
    }

    /// Tensors as the model's inputs; or, for a text model, one BYTES input of texts to tokenize.
    private static func prepare(_ inference: InferenceRequest, for model: ServedModel) throws -> PreparedInputs {
        let texts = inference.inputs.filter { if case .strings = $0.payload { return true } else { return false } }
        guard let textInput = texts.first else {
            return try InputPreparation.prepare(tensors: inference.inputs, for: model.model, field: "inputs")
        }
        guard inference.inputs.count == 1, case .strings(let elements) = textInput.payload else {
            throw RequestError(field: textInput.field, "a BYTES input (texts) must be the only input")
        }
        var strings: [String] = []
        for (index, bytes) in elements.enumerated() {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw RequestError(field: "\(textInput.field).data[\(index)]", "is not valid UTF-8")
            }
            strings.append(text)
        }
        guard !strings.isEmpty else { throw RequestError(field: textInput.field, "holds no texts") }
        // The V2 response has no place to report truncation: an over-long text is a 413, never cut.
        return try InputPreparation.prepare(texts: strings, for: model.model, modelName: model.name, field: "\(textInput.field).data",
                                            truncation: TruncationMode.none)
    }

    // MARK: - Statistics

    /// Triton's statistics extension: one entry per version loaded since start.
    func statistics(_ request: HTTPRequest) throws -> HTTPResponse {
        let name = request.pathParameter("model")
        _ = try context.registry.model(named: name)
        let buffer = JSONOutputBuffer(capacity: 1024)
        buffer.append(raw: #"{"model_stats":["#)
        for (index, entry) in context.manager.statistics(name: name).enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            let snapshot = entry.statistics.snapshot
            buffer.append(raw: #"{"name":"#)
            buffer.append(string: name)
            buffer.append(raw: #","version":"#)
            buffer.append(string: String(entry.version))
            buffer.append(raw: #","last_inference":"#)
            buffer.append(integer: Int(snapshot.lastInference))
            buffer.append(raw: #","inference_count":"#)
            buffer.append(integer: Int(snapshot.inferenceCount))
            buffer.append(raw: #","execution_count":"#)
            buffer.append(integer: Int(snapshot.executionCount))
            buffer.append(raw: #","inference_stats":{"#)
            let durations: [(StaticString, ModelStatistics.Accumulator)] = [
                (#""success":"#, snapshot.success), (#","fail":"#, snapshot.fail), (#","queue":"#, snapshot.queue),
                (#","compute_input":"#, snapshot.computeInput), (#","compute_infer":"#, snapshot.computeInfer),
                (#","compute_output":"#, snapshot.computeOutput),
            ]
            for (key, value) in durations {
                buffer.append(raw: key)
                Self.append(value, to: buffer)
            }
            buffer.append(raw: #"},"batch_stats":["#)
            for (position, size) in snapshot.batches.keys.sorted().enumerated() {
                if position > 0 { buffer.append(UInt8(ascii: ",")) }
                let batch = snapshot.batches[size]!
                buffer.append(raw: #"{"batch_size":"#)
                buffer.append(integer: size)
                buffer.append(raw: #","compute_input":"#)
                Self.append(batch.computeInput, to: buffer)
                buffer.append(raw: #","compute_infer":"#)
                Self.append(batch.computeInfer, to: buffer)
                buffer.append(raw: #","compute_output":"#)
                Self.append(batch.computeOutput, to: buffer)
                buffer.append(UInt8(ascii: "}"))
            }
            buffer.append(raw: "]}")
        }
        buffer.append(raw: "]}")
        return .json(bytes: buffer.takeBytes())
    }

    private static func append(_ value: ModelStatistics.Accumulator, to buffer: JSONOutputBuffer) {
        buffer.append(raw: #"{"count":"#)
        buffer.append(integer: Int(value.count))
        buffer.append(raw: #","ns":"#)
        buffer.append(integer: Int(value.nanoseconds))
        buffer.append(UInt8(ascii: "}"))
    }
}
