import Foundation
import Registry
import Tensors
import Testing
import TestSupport
@testable import Service

/// ONNX models through the whole service: registration by upload and by path, `/layers` with
/// PyTorch module names, features by module name and by ONNX tensor name, V2, bad models refused.
@Suite struct ONNXEndpointsTests {
    @Test func registerAnONNXModelAndRequestTwoLayersByModuleName() async throws {
        let service = try await LiveService.start([])
        do {
            let registry = service.application.registry
            let model = Array(try Data(contentsOf: Fixtures.url("onnx/tiny_resnet.onnx")))
            let configuration = #"{"preprocessing":{"resize":16,"crop_size":16}}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let upload = try await service.request("POST", "/v1/models?name=tiny&architecture=onnx&config=\(configuration)&sha256=\(SHA256.hexString(SHA256.hash(model)))",
                                                   body: model, headers: ["Content-Type": "application/octet-stream"])
            #expect(upload.status == 201, "\(upload.text)")

            // /layers: PyTorch module names in execution order, with shapes.
            let layers = try await service.get("/v1/models/tiny/layers")
            #expect(layers.status == 200, "\(layers.text)")
            let names = try layers.json().objectValue?["layers"]?.arrayElements?.compactMap { $0.objectValue?["name"]?.stringValue } ?? []
            let expectedStart: [String] = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer1.0", "layer1.0.conv1", "layer1.0.bn1"]
            #expect(Array(names.prefix(8)) == expectedStart, "\(names)")
            #expect(names.contains("layer2.0.downsample.0") && names.contains("fc"))

            // Two layers by module name (a container and a leaf), one by ONNX tensor name.
            let values: [String] = (0..<(2 * 3 * 16 * 16)).map { (index: Int) -> String in String(Float(index % 17) / 17 - 0.5) }
            let pixels = values.joined(separator: ",")
            let body = #"{"inputs":{"input":{"shape":[2,3,16,16],"data":[\#(pixels)]}},"layers":["layer1","layer2.0.conv1","/layer1/layer1.0/Add_output_0"]}"#
            let features = try await service.post("/v1/models/tiny/features", json: body)
            #expect(features.status == 200, "\(features.text.prefix(300))")
            let captured = try features.json().objectValue?["features"]?.objectValue
            func shape(_ name: String) -> [Int]? {
                captured?[name]?.objectValue?["shape"]?.arrayElements?.compactMap { $0.numberValue?.intValue }
            }
            #expect(shape("layer1") == [2, 8, 8, 8])
            #expect(shape("layer2.0.conv1") == [2, 16, 4, 4])
            #expect(captured?["/layer1/layer1.0/Add_output_0"] != nil, "\(captured?.keys.sorted() ?? [])")

            // An unknown layer is a 404 naming close module names.
            let unknown = try await service.post("/v1/models/tiny/features", json: #"{"inputs":{"input":{"shape":[1,3,16,16],"data":[\#(Array(repeating: "0", count: 768).joined(separator: ","))]}},"layers":["layer1.0.conv3"]}"#)
            #expect(unknown.status == 404 && unknown.text.contains("layer1.0.conv1"), "\(unknown.text)")

            // Attributions are refused for imported graphs (their operators record no gradients).
            let attribution = try await service.post("/v1/models/tiny/attributions", json: #"{"inputs":{"input":{"shape":[2,3,16,16],"data":[\#(pixels)]}},"target":{"class":1},"method":"saliency"}"#)
            #expect(attribution.status == 400 && attribution.text.contains("ONNX"), "\(attribution.text)")

            // V2 metadata describes the graph's input.
            let metadata = try await service.get("/v2/models/tiny")
            #expect(metadata.status == 200 && metadata.text.contains(#""shape":[-1,3,16,16]"#), "\(metadata.text)")

            // A broken model is refused at registration, and the server keeps serving.
            let broken = Array(model.prefix(model.count / 2))
            let refused = try await service.request("POST", "/v1/models?name=broken&architecture=onnx", body: broken,
                                                    headers: ["Content-Type": "application/octet-stream"])
            #expect(refused.status == 400 && refused.text.contains("truncated model"), "\(refused.text)")
            #expect(try await service.post("/v1/models/tiny/features", json: body).status == 200)
            _ = registry
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
