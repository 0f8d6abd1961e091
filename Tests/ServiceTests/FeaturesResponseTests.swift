import Foundation
import Testing
import NN
import Tensors
import TestSupport
@testable import Service

@Suite struct FeaturesResponseTests {
    private let response = FeaturesResponse(
        modelName: "resnet \"50\"", modelVersion: "1",
        features: [("layer3", Tensor(shape: [1, 2, 2], scalars: [0.1, -2.5, 1e-7, 3])),
                   ("avgpool", Tensor(shape: [1, 2], elements: [Float16(0.5), Float16(-1)]))],
        queueMilliseconds: 0.1234567, computeMilliseconds: 15.3)

    @Test func jsonBodyLayout() throws {
        let text = String(decoding: try response.jsonBody().collect(), as: UTF8.self)
        let prefix = #"{"model":{"name":"resnet \"50\"","version":1},"features":{"layer3":{"shape":[1,2,2],"dtype":"float32","data":[0.1,-2.5,1e-7,3.0]},"avgpool":{"shape":[1,2],"dtype":"float16","data":[0.5,-1.0]}},"timing_ms":{"queue":0.123,"compute":15.3,"encode":"#
        #expect(text.hasPrefix(prefix), "\(text)")
        #expect(text.hasSuffix("}}"))
        // The encode time is a JSON number.
        let document = try JSONParser.parse(Array(text.utf8))
        let encode = document.objectValue?["timing_ms"]?.objectValue?["encode"]?.numberValue?.doubleValue
        #expect(encode != nil && encode! >= 0)
        #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) is [String: Any])
    }

    @Test func nestedAndBase64Bodies() throws {
        let nested = String(decoding: try response.jsonBody(layout: .nested).collect(), as: UTF8.self)
        #expect(nested.contains(#""data":[[[0.1,-2.5],[1e-7,3.0]]]"#))
        let base64 = try JSONParser.parse(try response.jsonBody(encoding: .base64).collect())
        let layer3 = try #require(base64.objectValue?["features"]?.objectValue?["layer3"]?.objectValue)
        #expect(layer3["encoding"]?.stringValue == "base64")
        let bytes = try Base64.decode(try #require(layer3["data"]?.stringValue))
        #expect(bytes == response.features[0].tensor.withFloats { Array(UnsafeRawBufferPointer($0)) })
    }

    /// The streamed safetensors body is byte-for-byte what NN's SafetensorsWriter produces.
    @Test func safetensorsBodyMatchesSafetensorsWriter() throws {
        let tensors: [(name: String, tensor: Tensor)] = [
            ("layer4", randomTensor([1, 8, 3, 3], seed: 1)), ("avgpool", Tensor(shape: [1, 3], elements: [Float16(1), 2, 3])),
            ("ids", Tensor(shape: [2], elements: [Int64(5), 6])), ("empty", Tensor(zeros: [0, 4])),
        ]
        let metadata = ["model": "m", "version": "2"]
        let ours = try SafetensorsBody.make(tensors, metadata: metadata).collect()
        let reference = try SafetensorsWriter.serialize(tensors, metadata: metadata, order: .reference)
        #expect(ours == Array(reference))
        #expect(SafetensorsBody.make(tensors, metadata: metadata).knownLength == ours.count)
        let file = try SafetensorsFile(bytes: ours)
        #expect(file.metadata == metadata)
        #expect(try file.tensor(named: "layer4").toArray() == tensors[0].tensor.toArray())
        let body = try SafetensorsFile(bytes: try response.safetensorsBody().collect())
        #expect(body.metadata["model"] == "resnet \"50\"" && body.metadata["version"] == "1")
        let timing = try JSONParser.parse(Array(try #require(body.metadata["timing_ms"]).utf8)).objectValue
        #expect(timing?["queue"]?.numberValue?.doubleValue == 0.123 && timing?["compute"]?.numberValue?.doubleValue == 15.3)
        #expect(timing?["encode"]?.numberValue?.doubleValue != nil)
        #expect(try body.tensor(named: "avgpool").dtype == .float16)
    }

    @Test func sizeBoundsHoldForExtremeValues() throws {
        // Values with the longest forms, in every encoding and layout.
        let longest: [Float] = [-1.2345678e-38, -0.0000012345678, -1.2345679e-20, -123456.79, .leastNonzeroMagnitude, -.greatestFiniteMagnitude]
        let tensor = Tensor(shape: [2, 3, 1, 1], scalars: longest)
        for encoding in FeatureEncoding.allCases {
            for layout in ArrayLayout.allCases {
                let body = FeaturesResponse(modelName: "m", modelVersion: "1", features: [("x", tensor)], queueMilliseconds: 123456.789,
                                            computeMilliseconds: 1e-9).jsonBody(encoding: encoding, layout: layout)
                let actual = try body.collect().count
                let bound = ResponseSize.maximumFeaturesJSONBytes([("x", tensor.shape)], dtype: .float32, encoding: encoding, layout: layout,
                                                                 modelName: "m", modelVersion: "1")
                #expect(actual <= bound, "\(encoding) \(layout): \(actual) > \(bound)")
                #expect(bound <= actual + 400, "bound \(bound) is loose for \(actual)")
            }
        }
        for value in longest { #expect(formatted(value).count <= JSONNumberFormat.maximumFloatLength, "\(formatted(value))") }
        let safetensors = try SafetensorsBody.make([("x", tensor)]).collect().count
        #expect(safetensors <= ResponseSize.maximumSafetensorsBytes([("x", tensor.shape)], dtype: .float32))
    }
}
