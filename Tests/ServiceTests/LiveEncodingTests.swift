import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import HTTP
import Tensors
@testable import Service

/// The encoders behind a real `HTTPServer` on a loopback port chosen by the OS: a large features
/// response streams chunked through the socket, and a V2 binary response arrives with its headers.
@Suite struct LiveEncodingTests {
    static let features = Tensor(shape: [4, 1024, 14, 14], scalars: (0..<(4 * 1024 * 14 * 14)).map { Float($0 % 1999) * 0.001 - 1 })

    private func withServer(_ body: (Int) async throws -> Void) async throws {
        var router = Router()
        router.get("/features") { _, _ in
            let response = FeaturesResponse(modelName: "m", modelVersion: "1", features: [("layer3", Self.features)],
                                            queueMilliseconds: 0, computeMilliseconds: 0)
            return try response.jsonBody().httpResponse(contentType: "application/json", chunkSize: 1 << 16)
        }
        router.post("/v2/models/m/infer") { request, _ in
            let inference = try InferenceRequest.parse(request.body.bytes ?? [],
                                                       headerLength: InferenceRequest.headerLength(from: request.headers))
            // Echo every input back as an output named after it.
            let outputs = try inference.inputs.map { input in
                InferenceResponse.Output(name: input.name, tensor: try input.tensor(as: input.declaredDType ?? .float32),
                                         binary: inference.wantsBinary(.init(name: input.name)))
            }
            let (headers, body) = try InferenceResponse(modelName: "m", modelVersion: "1", id: inference.id, outputs: outputs).encoded()
            return try body.httpResponse(contentType: headers["Content-Type"]!, headers: headers)
        }
        let server = HTTPServer(configuration: HTTPServerConfiguration(port: 0), responder: router)
        try server.start()
        do {
            try await body(server.port)
        } catch {
            await server.shutdown(drainTimeout: .seconds(1))
            throw error
        }
        await server.shutdown(drainTimeout: .seconds(1))
    }

    @Test func largeFeaturesResponseStreamsThroughTheSocket() async throws {
        try await withServer { port in
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/features")!)
            let http = try #require(response as? HTTPURLResponse)
            #expect(http.statusCode == 200)
            #expect(http.value(forHTTPHeaderField: "Transfer-Encoding")?.lowercased() == "chunked")
            #expect(data.count > 8_000_000)
            let document = try JSONParser.parse(Array(data))
            let layer = try #require(document.objectValue?["features"]?.objectValue?["layer3"]?.objectValue)
            #expect(try layer["data"]?.numericArray?.floats() == Self.features.toArray())
        }
    }

    @Test func v2BinaryRequestAndResponseOverHTTP() async throws {
        try await withServer { port in
            let json = Array(#"{"id":"9","inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},{"name":"b","shape":[1],"datatype":"INT64","data":[7]}],"parameters":{"binary_data_output":true}}"#.utf8)
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v2/models/m/infer")!)
            request.httpMethod = "POST"
            request.setValue(String(json.count), forHTTPHeaderField: "Inference-Header-Content-Length")
            request.httpBody = Data(json + [0, 0, 0xC0, 0x3F, 0, 0, 0x20, 0xC1])  // 1.5, -10
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = try #require(response as? HTTPURLResponse)
            #expect(http.statusCode == 200)
            let headerLength = try #require(http.value(forHTTPHeaderField: "Inference-Header-Content-Length").flatMap { Int($0) })
            let body = Array(data)
            let header = try JSONParser.parse(Array(body[..<headerLength]))
            let outputs = try #require(header.objectValue?["outputs"]?.arrayElements)
            #expect(outputs.compactMap { $0.objectValue?["parameters"]?.objectValue?["binary_data_size"]?.numberValue?.intValue } == [8, 8])
            #expect(Array(body[headerLength...]) == [0, 0, 0xC0, 0x3F, 0, 0, 0x20, 0xC1, 7, 0, 0, 0, 0, 0, 0, 0])
        }
    }
}
