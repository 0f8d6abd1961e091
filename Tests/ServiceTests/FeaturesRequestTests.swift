import Foundation
import Testing
import NN
import Tensors
@testable import Service

@Suite struct FeaturesRequestTests {
    private func parse(_ text: String) throws(RequestError) -> FeaturesRequest {
        try FeaturesRequest.parse(Array(text.utf8))
    }

    @Test func tensorsWithEveryOption() throws {
        let request = try parse("""
        {"inputs": {"input": {"shape": [1, 2, 2], "data": [[[0.5, -1], [2e3, 4]]]}},
         "layers": ["layer3", "layer4.*.relu", -1], "pool": "mean", "flatten": true, "normalize": true,
         "dtype": "float16", "encoding": "base64", "nonfinite": "null"}
        """)
        guard case .tensors(let tensors) = request.input else { Issue.record("not tensors"); return }
        #expect(tensors.count == 1 && tensors[0].name == "input" && tensors[0].shape == [1, 2, 2])
        #expect(try tensors[0].tensor(as: .float32).toArray() == [0.5, -1, 2000, 4])
        #expect(request.layers == [.name("layer3"), .name("layer4.*.relu"), .index(-1)])
        #expect(request.pool == .mean && request.flatten && request.normalize)
        #expect(request.dtype == .float16 && request.encoding == .base64 && request.layout == .flat && request.nonFinite == .null)
    }

    @Test func defaults() throws {
        let request = try parse(#"{"text": "hello world"}"#)
        guard case .text(let texts) = request.input else { Issue.record("not text"); return }
        #expect(texts == ["hello world"])
        #expect(request.layers == [.index(-1)])
        #expect(request.pool == .none && !request.flatten && !request.normalize)
        #expect(request.dtype == .float32 && request.encoding == .json && request.layout == .flat && request.nonFinite == .error)
    }

    @Test func base64TensorsAndImages() throws {
        let values: [Float] = [1.5, -2, 0.25, 8]
        let encoded = values.withUnsafeBytes { Base64.encode($0) }
        let request = try parse(#"{"inputs": {"x": {"shape": [2, 2], "data": "\#(encoded)"}}, "layers": [0]}"#)
        guard case .tensors(let tensors) = request.input else { Issue.record("not tensors"); return }
        #expect(try tensors[0].tensor(as: .float32).toArray() == values)
        // Float bytes convert to float16 on request; never to integers.
        #expect(try tensors[0].tensor(as: .float16).dtype == .float16)
        #expect(throws: RequestError(field: "inputs.x", "has dtype float32, the model expects int64")) { try tensors[0].tensor(as: .int64) }
        let ids: [Int64] = [101, 2023, 102]
        let idsRequest = try parse(#"{"inputs": {"input_ids": {"shape": [1, 3], "dtype": "int64", "data": "\#(ids.withUnsafeBytes { Base64.encode($0) })"}}}"#)
        guard case .tensors(let idTensors) = idsRequest.input else { Issue.record("not tensors"); return }
        #expect(try idTensors[0].tensor(as: .int64).toInt64Array() == ids)
        // Integer bytes narrow only when every value fits.
        let wide: [Int64] = [1, 1 << 40]
        let wideRequest = try parse(#"{"inputs": {"ids": {"shape": [2], "dtype": "int64", "data": "\#(wide.withUnsafeBytes { Base64.encode($0) })"}}}"#)
        guard case .tensors(let wideTensors) = wideRequest.input else { Issue.record("not tensors"); return }
        #expect(throws: RequestError(field: "inputs.ids.data", "element 1 does not fit in int32, which the model expects")) {
            try wideTensors[0].tensor(as: .int32)
        }
        let image = try parse(#"{"image": ["\#(Base64.encode([0xFF, 0xD8, 0xFF]))", "iVBO"]}"#)
        guard case .images(let images) = image.input else { Issue.record("not images"); return }
        #expect(images == [[0xFF, 0xD8, 0xFF], [0x89, 0x50, 0x4E]])
    }

    @Test func integerInputsFromJSONNumbers() throws {
        let request = try parse(#"{"inputs": {"input_ids": {"shape": [1, 3], "data": [[101, 7592, 102]]}, "attention_mask": {"shape": [1, 3], "data": [1, 1, 1]}}}"#)
        guard case .tensors(let tensors) = request.input else { Issue.record("not tensors"); return }
        #expect(tensors.map(\.name) == ["input_ids", "attention_mask"])
        #expect(try tensors[0].tensor(as: .int64).toInt64Array() == [101, 7592, 102])
        #expect(throws: RequestError(field: "inputs.x.data", "element 1 (25e-1) is not an integer")) {
            let fractional = try parse(#"{"inputs": {"x": {"shape": [2], "data": [1, 2.5]}}}"#)
            guard case .tensors(let tensors) = fractional.input else { return }
            _ = try tensors[0].tensor(as: .int64)
        }
    }

    /// Each bad body and the field and message it must produce.
    @Test(arguments: [
        (#"[1]"#, "the body must be a JSON object, found an array"),
        (#"{}"#, #"the body needs one of "inputs" (tensors), "text" or "image""#),
        (#"{"text": "a", "image": "QQ=="}"#, #"give only one of "inputs", "text" and "image" (found text, image)"#),
        (#"{"text": "a", "normalise": true}"#, "normalise: unknown field (expected one of: inputs, text, image, layers, pool, flatten, normalize, dtype, encoding, nonfinite, truncate, return_tokens)"),
        (#"{"text": 3}"#, "text: expected a text or a non-empty array of them, found a number"),
        (#"{"text": []}"#, "text: expected a text or a non-empty array of them, found an array"),
        (#"{"text": ["a", 1]}"#, "text[1]: expected a string, found a number"),
        (#"{"image": "QQ="}"#, "image: base64 text has length 3, not a multiple of 4 (padding with '=' is required)"),
        (#"{"image": ""}"#, "image: is empty"),
        (#"{"text": "a", "pool": "avg"}"#, "pool: 'avg' is not one of: none, mean, max, cls"),
        (#"{"text": "a", "dtype": "float64"}"#, "dtype: 'float64' is not one of: float32, float16"),
        (#"{"text": "a", "normalize": "yes"}"#, "normalize: expected true or false, found a string"),
        (#"{"text": "a", "layers": []}"#, "layers: expected a non-empty array of layer names and indices, found an array"),
        (#"{"text": "a", "layers": ["x", 1.5]}"#, "layers[1]: expected an integer index, found 1.5"),
        (#"{"text": "a", "layers": ["x", ""]}"#, "layers[1]: expected a layer name or an integer index, found an empty string"),
        (#"{"text": "a", "layers": [null]}"#, "layers[0]: expected a layer name or an integer index, found null"),
        (#"{"inputs": {}}"#, "inputs: needs at least one named tensor"),
        (#"{"inputs": {"x": [1, 2]}}"#, "inputs.x: expected an object, found an array"),
        (#"{"inputs": {"x": {"data": [1]}}}"#, "inputs.x.shape: is required"),
        (#"{"inputs": {"x": {"shape": [1]}}}"#, "inputs.x.data: is required"),
        (#"{"inputs": {"x": {"shape": [2, -1], "data": [1]}}}"#, "inputs.x.shape[1]: expected a non-negative integer, found -1"),
        (#"{"inputs": {"x": {"shape": [2, 1.5], "data": [1]}}}"#, "inputs.x.shape[1]: expected a non-negative integer, found 15e-1"),
        (#"{"inputs": {"x": {"shape": "2", "data": [1]}}}"#, "inputs.x.shape: expected an array of non-negative integers, found a string"),
        (#"{"inputs": {"x": {"shape": [3], "data": [1, 2]}}}"#, "inputs.x.data: has 2 numbers, shape [3] needs 3"),
        (#"{"inputs": {"x": {"shape": [2, 2], "data": [[1, 2, 3, 4]]}}}"#, "inputs.x.data: is nested as [1, 4], which does not match shape [2, 2]"),
        (#"{"inputs": {"x": {"shape": [2, 2], "data": [[1, 2], [3]]}}}"#, "inputs.x.data: expected an array of numbers or a base64 string: the nested arrays are not rectangular: at [1] an array of shape [1] where shape [2] was expected"),
        (#"{"inputs": {"x": {"shape": [2], "data": [1, "2"]}}}"#, "inputs.x.data: expected an array of numbers or a base64 string: element [1] is a string, expected a number"),
        (#"{"inputs": {"x": {"shape": [2], "data": "AAAA"}}}"#, "inputs.x.data: has 3 bytes, shape [2] of float32 needs 8"),
        (#"{"inputs": {"x": {"shape": [1], "dtype": "double", "data": "AAAA"}}}"#, "inputs.x.dtype: 'double' is not one of: float32, float16, bfloat16, int64, int32, uint8, bool"),
        (#"{"inputs": {"x": {"shape": [1], "data": [1], "extra": 1}}}"#, "inputs.x.extra: unknown field (expected one of: shape, data, dtype)"),
        (#"{"text": "a",}"#, "invalid JSON at byte 13: expected a string key, found '}'"),
        // Fuzzing regression: an empty tensor whose other dimensions overflow was accepted, then
        // `Tensor.strides` trapped.
        (#"{"inputs": {"x": {"shape": [0, 4611686018427387904, 4611686018427387904], "data": []}}}"#,
         "inputs.x.shape: shape [0, 4611686018427387904, 4611686018427387904] is out of range: its non-zero dimensions multiply to more than 17179869184"),
    ])
    func invalidRequests(body: String, message: String) {
        do {
            _ = try parse(body)
            Issue.record("accepted: \(body)")
        } catch {
            #expect(error.description == message)
            #expect(error.status == .badRequest)
            #expect(error.errorType == "bad_request" || error.errorType == "invalid_json")
        }
    }

    @Test func hugeShapesAre413() {
        do {
            _ = try parse(#"{"inputs": {"x": {"shape": [4294967296, 4294967296, 4], "data": [1]}}}"#)
            Issue.record("accepted")
        } catch {
            #expect(error.status == .contentTooLarge)
            #expect(error.field == "inputs.x.shape")
        }
    }
}
