import Foundation
import Testing
import Tensors
@testable import Service

@Suite struct InferenceRequestTests {
    /// The exact body `tritonclient.http` 2.73 builds for five inputs (FP32, FP16 and BYTES binary;
    /// INT64 and BOOL as JSON), two requested outputs (binary on and off) and a custom parameter;
    /// `Inference-Header-Content-Length: 552`.
    static let tritonClientBody = Array(Data(base64Encoded: "eyJpZCI6IjciLCJpbnB1dHMiOlt7Im5hbWUiOiJpbnB1dCIsInNoYXBlIjpbMSwzXSwiZGF0YXR5cGUiOiJGUDMyIiwicGFyYW1ldGVycyI6eyJiaW5hcnlfZGF0YV9zaXplIjoxMn19LHsibmFtZSI6ImlkcyIsInNoYXBlIjpbMSwyXSwiZGF0YXR5cGUiOiJJTlQ2NCIsImRhdGEiOlsxMDEsMTAyXX0seyJuYW1lIjoidHh0Iiwic2hhcGUiOlsyXSwiZGF0YXR5cGUiOiJCWVRFUyIsInBhcmFtZXRlcnMiOnsiYmluYXJ5X2RhdGFfc2l6ZSI6MTZ9fSx7Im5hbWUiOiJtYXNrIiwic2hhcGUiOlsxLDJdLCJkYXRhdHlwZSI6IkJPT0wiLCJkYXRhIjpbdHJ1ZSxmYWxzZV19LHsibmFtZSI6ImhhbGYiLCJzaGFwZSI6WzJdLCJkYXRhdHlwZSI6IkZQMTYiLCJwYXJhbWV0ZXJzIjp7ImJpbmFyeV9kYXRhX3NpemUiOjR9fV0sIm91dHB1dHMiOlt7Im5hbWUiOiJsYXllcjQiLCJwYXJhbWV0ZXJzIjp7ImJpbmFyeV9kYXRhIjp0cnVlfX0seyJuYW1lIjoiYXZncG9vbCIsInBhcmFtZXRlcnMiOnsiYmluYXJ5X2RhdGEiOmZhbHNlfX1dLCJwYXJhbWV0ZXJzIjp7Im15X3BhcmFtIjo0Mn19AACAPwAAAD8AAADAAgAAAGhpBgAAAGjDqWxsbwA+AMA=")!)

    @Test func tritonClientBinaryRequest() throws {
        #expect(Self.tritonClientBody.count == 584)
        let request = try InferenceRequest.parse(Self.tritonClientBody, headerLength: 552)
        #expect(request.id == "7")
        #expect(request.parameters["my_param"]?.numberValue?.intValue == 42)
        #expect(request.inputs.map(\.name) == ["input", "ids", "txt", "mask", "half"])
        #expect(request.inputs.map(\.shape) == [[1, 3], [1, 2], [2], [1, 2], [2]])
        #expect(try request.inputs[0].tensor(as: .float32).toArray() == [1, 0.5, -2])
        #expect(try request.inputs[1].tensor(as: .int64).toInt64Array() == [101, 102])
        guard case .strings(let strings) = request.inputs[2].payload else { Issue.record("txt is not BYTES"); return }
        #expect(strings == [Array("hi".utf8), Array("héllo".utf8)])
        #expect(try request.inputs[3].tensor(as: .bool).toArray() == [1, 0])
        let half = try request.inputs[4].tensor(as: .float16)
        #expect(half.dtype == .float16 && half.toArray() == [1.5, -2])
        #expect(request.inputs.map(\.declaredDType) == [.float32, .int64, nil, .bool, .float16])
        #expect(request.outputs == [.init(name: "layer4", binaryData: true), .init(name: "avgpool", binaryData: false)])
        #expect(request.outputs.map(request.wantsBinary) == [true, false])
    }

    /// tritonclient's body with no outputs asks for every output as binary.
    @Test func binaryDataOutputParameter() throws {
        let body = #"{"inputs":[{"name":"ids","shape":[1,2],"datatype":"INT64","data":[101,102]}],"parameters":{"binary_data_output":true}}"#
        let request = try InferenceRequest.parse(Array(body.utf8), headerLength: nil)
        #expect(request.outputs.isEmpty && request.binaryDataOutput)
        #expect(request.wantsBinary(.init(name: "x")) && !request.wantsBinary(.init(name: "y", binaryData: false)))
    }

    @Test func nestedJSONDataOnlyNeedsTheRightCount() throws {
        let body = #"{"inputs":[{"name":"x","shape":[4],"datatype":"FP32","data":[[1,2],[3,4]]}, {"name":"s","shape":[2,1],"datatype":"BYTES","data":[["a"],["b"]]}]}"#
        let request = try InferenceRequest.parse(Array(body.utf8), headerLength: nil)
        #expect(try request.inputs[0].tensor(as: .float32).toArray() == [1, 2, 3, 4])
        guard case .strings(let strings) = request.inputs[1].payload else { Issue.record("not BYTES"); return }
        #expect(strings == [[UInt8(ascii: "a")], [UInt8(ascii: "b")]])
    }

    @Test(arguments: [
        (#"{"inputs":[]}"#, nil, "inputs: expected a non-empty array of input tensors"),
        (#"{"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]}"#, nil, "inputs[0].name: is required"),
        (#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[1]}]}"#, nil, "inputs[0].datatype: 'FP64' is not supported by Periscope (supported: BOOL, UINT8, INT32, INT64, FP16, FP32, BF16, BYTES)"),
        (#"{"inputs":[{"name":"x","shape":[1],"datatype":"FLOAT","data":[1]}]}"#, nil, "inputs[0].datatype: 'FLOAT' is not a V2 datatype (supported: BOOL, UINT8, INT32, INT64, FP16, FP32, BF16, BYTES)"),
        (#"{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1]}]}"#, nil, "inputs[0].data: has 1 numbers, shape [2] needs 2"),
        (#"{"inputs":[{"name":"x","shape":[2],"datatype":"BOOL","data":[true, 1]}]}"#, nil, "inputs[0].data[1]: expected true or false, found a number"),
        (#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":8}}]}"#, 0, "inputs[0].parameters.binary_data_size: is 8, but only 4 bytes of binary data remain after the JSON header"),
        (#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4},"data":[1]}]}"#, 0, "inputs[0].data: must be absent when parameters.binary_data_size is given"),
        (#"{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":4}}]}"#, 0, "inputs[0].data: has 4 bytes, shape [2] of float32 needs 8"),
        (#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1]}]}"#, 0, "4 bytes of binary data after the JSON header are not claimed by any input's binary_data_size"),
        (#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1]},{"name":"x","shape":[1],"datatype":"INT32","data":[1]}]}"#, nil, "inputs: input names must be unique"),
        (#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1]}],"outputs":[{"name":"a"},{"name":"a"}]}"#, nil, "outputs: output names must be unique"),
        (#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1]}],"outputs":{"name":"a"}}"#, nil, "outputs: expected an array of requested outputs, found an object"),
        (#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1]}]}"#, 500, "Inference-Header-Content-Length: is 500, but the body has 71 bytes"),
        // Fuzzing regression: accepted before, then `Tensor.strides` trapped on the overflow.
        (#"{"inputs":[{"name":"x","shape":[0,4611686018427387904,4611686018427387904],"datatype":"FP32","data":[]}]}"#, nil,
         "inputs[0].shape: shape [0, 4611686018427387904, 4611686018427387904] is out of range: its non-zero dimensions multiply to more than 17179869184"),
    ] as [(String, Int?, String)])
    func invalidRequests(json: String, headerLength: Int?, message: String) {
        // A header length of 0 stands for "the JSON's length": four bytes of binary data follow.
        var body = Array(json.utf8)
        if headerLength != nil { body += [0, 0, 128, 63] }
        do {
            _ = try InferenceRequest.parse(body, headerLength: headerLength == 0 ? json.utf8.count : headerLength)
            Issue.record("accepted: \(json)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func headerLengthHeader() throws {
        #expect(try InferenceRequest.headerLength(from: ["Inference-Header-Content-Length": "552"]) == 552)
        #expect(try InferenceRequest.headerLength(from: ["inference-header-content-length": " 7 "]) == 7)
        #expect(try InferenceRequest.headerLength(from: [:]) == nil)
        #expect(throws: RequestError(field: "Inference-Header-Content-Length", "'-1' is not a byte count")) {
            try InferenceRequest.headerLength(from: ["Inference-Header-Content-Length": "-1"])
        }
    }

    @Test func bytesBinaryDataMustBeWellFormed() {
        let json = Array(#"{"inputs":[{"name":"t","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":6}}]}"#.utf8)
        #expect(throws: RequestError(field: "inputs[0]", "BYTES element 0 claims 9 bytes, only 2 remain")) {
            try InferenceRequest.parse(json + [9, 0, 0, 0, 65, 66], headerLength: json.count)
        }
        let two = Array(#"{"inputs":[{"name":"t","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":10}}]}"#.utf8)
        #expect(throws: RequestError(field: "inputs[0].data", "has 2 elements, shape [1] needs 1")) {
            try InferenceRequest.parse(two + [1, 0, 0, 0, 65, 1, 0, 0, 0, 66], headerLength: two.count).inputs[0]
        }
    }
}
