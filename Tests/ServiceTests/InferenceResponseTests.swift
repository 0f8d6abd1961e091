import Foundation
import Testing
import Tensors
@testable import Service

@Suite struct InferenceResponseTests {
    /// Byte for byte; `tritonclient.http.InferResult.from_response_body(body, header_length=302)`
    /// reads these bytes back as layer4 [[1, 2]], avgpool [[0.5, -1.25]] and mask [True, False].
    @Test func binaryExtensionResponse() throws {
        let response = InferenceResponse(modelName: "resnet", modelVersion: "1", id: "7", outputs: [
            .init(name: "layer4", tensor: Tensor(shape: [1, 2], scalars: [1, 2]), binary: true),
            .init(name: "avgpool", tensor: Tensor(shape: [1, 2], scalars: [0.5, -1.25]), binary: false),
            .init(name: "mask", tensor: Tensor(shape: [2], elements: [true, false]), binary: true),
        ])
        let (headers, body) = try response.encoded()
        let json = #"{"model_name":"resnet","model_version":"1","id":"7","outputs":[{"name":"layer4","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}},{"name":"avgpool","datatype":"FP32","shape":[1,2],"data":[0.5,-1.25]},{"name":"mask","datatype":"BOOL","shape":[2],"parameters":{"binary_data_size":2}}]}"#
        let expected = Array(json.utf8) + [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 1, 0]
        #expect(try body.collect() == expected)
        #expect(json.utf8.count == 302)
        #expect(headers["Inference-Header-Content-Length"] == "302")
        #expect(headers["Content-Length"] == String(expected.count))
        #expect(headers["Content-Type"] == "application/octet-stream")
    }

    @Test func jsonOnlyResponseStreamsWithoutLengthHeaders() throws {
        let response = InferenceResponse(modelName: "bert", modelVersion: nil, id: nil, outputs: [
            .init(name: "pooler", tensor: Tensor(shape: [1, 3], elements: [Float16(0.1), 1, -2]), binary: false),
            .init(name: "ids", tensor: Tensor(shape: [2], elements: [Int64(101), 102]), binary: false),
        ])
        let (headers, body) = try response.encoded()
        #expect(String(decoding: try body.collect(), as: UTF8.self)
                == #"{"model_name":"bert","outputs":[{"name":"pooler","datatype":"FP16","shape":[1,3],"data":[0.1,1.0,-2.0]},{"name":"ids","datatype":"INT64","shape":[2],"data":[101,102]}]}"#)
        #expect(headers["Inference-Header-Content-Length"] == nil && headers["Content-Length"] == nil)
        #expect(headers["Content-Type"] == "application/json")
        #expect(body.knownLength == nil)
    }

    @Test func nonFiniteJSONOutputsFailBeforeSending() {
        let response = InferenceResponse(modelName: "m", modelVersion: "1", id: nil, outputs: [
            .init(name: "bad", tensor: Tensor(shape: [2], scalars: [1, .nan]), binary: false),
            .init(name: "fine", tensor: Tensor(shape: [1], scalars: [.nan]), binary: true),
        ])
        #expect(throws: ResponseEncodingError.nonFinite(layer: "bad", index: 1, value: "nan")) { try response.encoded() }
        #expect(throws: Never.self) { try response.encoded(nonFinite: .null) }
    }

    /// A request parsed from our own encoding of a response's tensors (the V2 request and response
    /// data forms agree), for every datatype.
    @Test(arguments: DType.allCases)
    func datatypesRoundTrip(dtype: DType) throws {
        let tensor = Tensor(shape: [2, 2], scalars: [1, 0, 1, 1]).to(dtype)
        #expect(V2Datatype(dtype).dtype == dtype)
        let (_, body) = try InferenceResponse(modelName: "m", modelVersion: nil, id: nil, outputs: [.init(name: "o", tensor: tensor, binary: false)]).encoded()
        let output = try #require(JSONParser.parse(try body.collect()).objectValue?["outputs"]?.arrayElements?.first)
        let request = try InferenceRequest(json: .object(JSONObject(members: [("inputs", .array([output]))])))
        #expect(try request.inputs[0].tensor(as: dtype).toArray() == tensor.toArray())
    }
}
