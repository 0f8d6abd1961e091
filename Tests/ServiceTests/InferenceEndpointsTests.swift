import Foundation
import Tensors
import Testing
import TestSupport
@testable import Service

/// The Open Inference Protocol endpoints over a real socket: metadata, readiness, inference with
/// layer names as outputs (JSON and Triton's binary extension both ways), statistics.
@Suite struct InferenceEndpointsTests {
    @Test func metadataReadinessInferenceAndStatistics() async throws {
        let service = try await LiveService.start([.mlp("mlp"), .bert("bert")])
        do {
            let server = try await service.get("/v2")
            #expect(server.status == 200 && server.text.contains(#""name":"periscope""#) && server.text.contains("binary_tensor_data"))
            #expect(try await service.get("/v2/health/live").status == 200)
            #expect(try await service.get("/v2/health/ready").status == 200)

            let metadata = try await service.get("/v2/models/mlp")
            #expect(metadata.text == #"{"name":"mlp","versions":["1"],"platform":"periscope_mlp","precision":"float32","inputs":[{"name":"input","datatype":"FP32","shape":[-1,8]}],"outputs":[{"name":"output","datatype":"FP32","shape":[-1,4]}]}"#)
            let bert = try await service.get("/v2/models/bert/versions/1")
            #expect(bert.status == 200 && bert.text.contains(#"{"name":"last_hidden_state","datatype":"FP32","shape":[-1,-1,32]}"#))
            #expect(try await service.get("/v2/models/mlp/ready").status == 200)
            #expect(try await service.get("/v2/models/mlp/versions/1/ready").status == 200)
            #expect(try await service.get("/v2/models/mlp/versions/2/ready").status == 404)
            #expect(try await service.get("/v2/models/nothere/ready").status == 404)
            #expect(try await service.get("/v2/models/mlp/versions/x1").status == 400)

            // JSON in, JSON out, two layers as outputs: the native API's values.
            let input = randomTensor([2, 8], seed: 4)
            let data = input.toArray().map { "\($0)" }.joined(separator: ",")
            let request = #"{"id":"r1","inputs":[{"name":"input","shape":[2,8],"datatype":"FP32","data":["# + data
                + #"]}],"outputs":[{"name":"3"},{"name":"output"}]}"#
            let reply = try await service.post("/v2/models/mlp/infer", json: request)
            #expect(reply.status == 200, "\(reply.text)")
            let outputs = try #require(try reply.json().objectValue?["outputs"]?.arrayElements)
            #expect(outputs.compactMap { $0.objectValue?["name"]?.stringValue } == ["3", "output"])
            #expect(try reply.json().objectValue?["id"]?.stringValue == "r1")
            #expect(try reply.json().objectValue?["model_version"]?.stringValue == "1")
            let native = try FeatureRequests.features(try await service.post("/v1/models/mlp/features",
                                                                              json: FeatureRequests.tensorBody(input, layers: ["3", "output"])))
            for output in outputs {
                let object = try #require(output.objectValue)
                let name = try #require(object["name"]?.stringValue)
                #expect(try object["data"]?.numericArray?.floats() == native[name]?.values, "\(name)")
                #expect(object["datatype"]?.stringValue == "FP32")
            }

            // Binary in (Triton's extension), binary out for one output.
            let header = Array((#"{"inputs":[{"name":"input","shape":[2,8],"datatype":"FP32","parameters":{"binary_data_size":64}}],"outputs":[{"name":"3","parameters":{"binary_data":true}},{"name":"output"}]}"#).utf8)
            var binaryInput: [UInt8] = []
            for value in input.toArray() { withUnsafeBytes(of: value.bitPattern.littleEndian) { binaryInput += $0 } }
            let binary = try await service.request("POST", "/v2/models/mlp/infer", body: header + binaryInput, headers: [
                "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": String(header.count),
            ])
            #expect(binary.status == 200, "\(binary.text.prefix(300))")
            let jsonLength = try #require(binary.headers["inference-header-content-length"].flatMap { Int($0) })
            let answer = try JSONParser.parse(Array(binary.body[..<jsonLength]))
            let binaryOutputs = try #require(answer.objectValue?["outputs"]?.arrayElements)
            #expect(binaryOutputs[0].objectValue?["parameters"]?.objectValue?["binary_data_size"]?.numberValue?.intValue == 2 * 16 * 4)
            let floats = stride(from: jsonLength, to: binary.body.count, by: 4).map { index in
                Float(bitPattern: UInt32(binary.body[index]) | UInt32(binary.body[index + 1]) << 8 | UInt32(binary.body[index + 2]) << 16 | UInt32(binary.body[index + 3]) << 24)
            }
            #expect(floats == native["3"]?.values)
            #expect(try binaryOutputs[1].objectValue?["data"]?.numericArray?.floats() == native["output"]?.values)

            // Text as BYTES for a BERT model; the default output is last_hidden_state.
            let text = try await service.post("/v2/models/bert/infer", json: #"{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["hello world"]}]}"#)
            #expect(text.status == 200 && text.text.contains(#""name":"last_hidden_state""#), "\(text.text.prefix(300))")

            // Errors: unknown output (a layer), bad datatype, wrong shape.
            let unknown = try await service.post("/v2/models/mlp/infer", json: #"{"inputs":[{"name":"input","shape":[1,8],"datatype":"FP32","data":[1,2,3,4,5,6,7,8]}],"outputs":[{"name":"nope"}]}"#)
            #expect(unknown.status == 404 && unknown.text.contains("nope"))
            let badShape = try await service.post("/v2/models/mlp/infer", json: #"{"inputs":[{"name":"input","shape":[1,7],"datatype":"FP32","data":[1,2,3,4,5,6,7]}]}"#)
            #expect(badShape.status == 400 && badShape.text.contains("inputs[0]"))

            // Statistics: Triton's shape, with the inferences counted.
            let statistics = try await service.get("/v2/models/mlp/stats")
            #expect(statistics.status == 200)
            let entry = try #require(try statistics.json().objectValue?["model_stats"]?.arrayElements?.first?.objectValue)
            #expect(entry["version"]?.stringValue == "1")
            #expect((entry["inference_count"]?.numberValue?.intValue ?? 0) >= 6)
            let success = try #require(entry["inference_stats"]?.objectValue?["success"]?.objectValue)
            #expect(success["count"]?.numberValue?.intValue == 3)
            #expect((success["ns"]?.numberValue?.intValue ?? 0) > 0)
            #expect(entry["inference_stats"]?.objectValue?["fail"]?.objectValue?["count"]?.numberValue?.intValue == 2)
            #expect(entry["batch_stats"]?.arrayElements?.first?.objectValue?["batch_size"]?.numberValue?.intValue == 2)
            #expect(try await service.get("/v2/models/nothere/stats").status == 404)
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
