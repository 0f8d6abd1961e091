import Foundation
import HTTP
import Tensors

/// A V2 `POST /v2/models/{m}[/versions/{v}]/infer` request, JSON and Triton's binary tensor
/// extension (https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md).
///
/// With the extension the body is the JSON object (its length in the `Inference-Header-Content-Length`
/// header) followed by the binary data of every input whose `parameters.binary_data_size` is set, in
/// input order: little-endian, row-major, BOOL one byte, BYTES as 4-byte little-endian length +
/// bytes per element. Each requested `outputs[].name` is a layer name; outputs come back binary
/// when `outputs[].parameters.binary_data` is true, or when the request's
/// `parameters.binary_data_output` is true and the output does not say otherwise.
public struct InferenceRequest: Sendable {
    /// One requested output (a layer).
    public struct RequestedOutput: Sendable, Equatable {
        public var name: String
        /// `parameters.binary_data` when given.
        public var binaryData: Bool?

        public init(name: String, binaryData: Bool? = nil) {
            self.name = name
            self.binaryData = binaryData
        }
    }

    public var id: String?
    /// The request `parameters` as sent (custom parameters pass through unchanged).
    public var parameters: JSONObject
    public var inputs: [RequestTensor]
    /// Empty: the model's final output.
    public var outputs: [RequestedOutput]
    /// `parameters.binary_data_output`.
    public var binaryDataOutput: Bool

    public init(id: String? = nil, parameters: JSONObject = JSONObject(), inputs: [RequestTensor],
                outputs: [RequestedOutput] = [], binaryDataOutput: Bool = false) {
        self.id = id
        self.parameters = parameters
        self.inputs = inputs
        self.outputs = outputs
        self.binaryDataOutput = binaryDataOutput
    }

    /// The `Inference-Header-Content-Length` of a request: nil when absent (all JSON), an error
    /// when it is not a non-negative integer.
    public static func headerLength(from headers: HTTPHeaders) throws(RequestError) -> Int? {
        guard let text = headers[binaryHeaderName] else { return nil }
        guard let length = Int(text.trimmingCharacters(in: .whitespaces)), length >= 0 else {
            throw RequestError(field: binaryHeaderName, "'\(text)' is not a byte count")
        }
        return length
    }

    /// Triton's header giving the JSON part's length in a body with binary data.
    public static let binaryHeaderName = "Inference-Header-Content-Length"

    /// Whether output `output` is to be returned as binary data.
    public func wantsBinary(_ output: RequestedOutput) -> Bool { output.binaryData ?? binaryDataOutput }

    /// Parses a body. `headerLength` is the `Inference-Header-Content-Length` value (nil: the whole
    /// body is JSON).
    public static func parse(_ body: [UInt8], headerLength: Int?, limits: JSONParserLimits = JSONParserLimits()) throws(RequestError) -> InferenceRequest {
        let jsonLength = headerLength ?? body.count
        guard jsonLength >= 0 && jsonLength <= body.count else {
            throw RequestError(field: "Inference-Header-Content-Length", "is \(jsonLength), but the body has \(body.count) bytes")
        }
        let document: JSONValue
        do {
            document = try body.withUnsafeBufferPointer { (buffer) throws(JSONParseError) in
                try JSONParser.parse(UnsafeBufferPointer(rebasing: buffer[0..<jsonLength]), limits: limits)
            }
        } catch {
            throw RequestError(error)
        }
        return try InferenceRequest(json: document, binary: body[jsonLength...])
    }

    /// Validates a parsed JSON object and takes the binary inputs from `binary` (the bytes after it).
    public init(json: JSONValue, binary: ArraySlice<UInt8> = []) throws(RequestError) {
        let body = try FieldReader(json, path: "$")
        id = try body.string("id")
        let parameters = try body.object("parameters")
        self.parameters = parameters?.object ?? JSONObject()
        binaryDataOutput = try parameters?.bool("binary_data_output") ?? false

        guard let inputsValue = body.value("inputs"), let inputElements = inputsValue.arrayElements, !inputElements.isEmpty else {
            throw RequestError(field: "inputs", "expected a non-empty array of input tensors")
        }
        var binaryOffset = binary.startIndex
        var inputs: [RequestTensor] = []
        for (index, element) in inputElements.enumerated() {
            let input = try FieldReader(element, path: "inputs[\(index)]")
            let name = try input.requiredString("name")
            let shape = try input.shape("shape")
            let datatypeName = try input.requiredString("datatype")
            guard let datatype = V2Datatype(rawValue: datatypeName) else {
                let reason = V2Datatype.unsupported.contains(datatypeName) ? "is not supported by Periscope" : "is not a V2 datatype"
                throw RequestError(field: input.field("datatype"), "'\(datatypeName)' \(reason) (supported: \(V2Datatype.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let inputParameters = try input.object("parameters")
            let payload: RequestTensor.Payload
            if let size = try inputParameters?.integer("binary_data_size") {
                guard !input.contains("data") else {
                    throw RequestError(field: input.field("data"), "must be absent when parameters.binary_data_size is given")
                }
                guard size >= 0, size <= binary.endIndex - binaryOffset else {
                    throw RequestError(field: input.field("parameters.binary_data_size"),
                                       "is \(size), but only \(binary.endIndex - binaryOffset) bytes of binary data remain after the JSON header")
                }
                let bytes = Array(binary[binaryOffset..<(binaryOffset + size)])
                binaryOffset += size
                payload = try Self.binaryPayload(bytes, datatype: datatype, shape: shape, field: input.path)
            } else {
                payload = try Self.jsonPayload(try input.required("data"), datatype: datatype, field: input.field("data"))
            }
            inputs.append(try RequestTensor(name: name, shape: shape, payload: payload, declaredDType: datatype.dtype, field: input.path))
        }
        guard binaryOffset == binary.endIndex else {
            throw RequestError(field: "$", "\(binary.endIndex - binaryOffset) bytes of binary data after the JSON header are not claimed by any input's binary_data_size")
        }
        if Set(inputs.map(\.name)).count != inputs.count {
            throw RequestError(field: "inputs", "input names must be unique")
        }
        self.inputs = inputs

        var outputs: [RequestedOutput] = []
        if let outputsValue = body.value("outputs") {
            guard let outputElements = outputsValue.arrayElements else {
                throw RequestError(field: "outputs", "expected an array of requested outputs, found \(outputsValue.kindDescription)")
            }
            for (index, element) in outputElements.enumerated() {
                let output = try FieldReader(element, path: "outputs[\(index)]")
                let name = try output.requiredString("name")
                let binaryData = try output.object("parameters")?.bool("binary_data")
                outputs.append(RequestedOutput(name: name, binaryData: binaryData))
            }
            if Set(outputs.map(\.name)).count != outputs.count {
                throw RequestError(field: "outputs", "output names must be unique")
            }
        }
        self.outputs = outputs
    }

    // MARK: - Payloads

    private static func binaryPayload(_ bytes: [UInt8], datatype: V2Datatype, shape: [Int], field: String) throws(RequestError) -> RequestTensor.Payload {
        guard let dtype = datatype.dtype else {
            // BYTES: 4-byte little-endian length, then the bytes, per element.
            var elements: [[UInt8]] = []
            var offset = 0
            while offset < bytes.count {
                guard offset + 4 <= bytes.count else {
                    throw RequestError(field: field, "BYTES binary data ends inside the length of element \(elements.count)")
                }
                let length = Int(UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
                offset += 4
                guard length <= bytes.count - offset else {
                    throw RequestError(field: field, "BYTES element \(elements.count) claims \(length) bytes, only \(bytes.count - offset) remain")
                }
                elements.append(Array(bytes[offset..<(offset + length)]))
                offset += length
            }
            return .strings(elements)
        }
        return .bytes(bytes, dtype: dtype)
    }

    private static func jsonPayload(_ data: JSONValue, datatype: V2Datatype, field: String) throws(RequestError) -> RequestTensor.Payload {
        switch datatype {
        case .bytes:
            var elements: [[UInt8]] = []
            try flatten(data, field: field, what: "a string") { (value) throws(RequestError) -> Bool in
                guard case .string(let text) = value else { return false }
                elements.append(Array(text.utf8))
                return true
            }
            return .strings(elements)
        case .bool:
            var values: [Bool] = []
            try flatten(data, field: field, what: "true or false") { (value) throws(RequestError) -> Bool in
                guard case .bool(let flag) = value else { return false }
                values.append(flag)
                return true
            }
            return .booleans(values)
        default:
            // Numbers, flat or nested; a V2 tensor's nesting need not match its shape, only its count.
            guard let numbers = data.numericArray else {
                throw RequestError(field: field, "expected an array of numbers: \(data.numericArrayProblem)")
            }
            return .numbers(JSONNumberArray(shape: [numbers.count], decimals: numbers.decimals, truncatedLiterals: numbers.truncatedLiterals))
        }
    }

    /// Visits the leaves of a (nested) array in order; `accept` returns false for a wrong leaf.
    private static func flatten(_ value: JSONValue, field: String, what: String,
                                _ accept: (JSONValue) throws(RequestError) -> Bool) throws(RequestError) {
        guard let elements = value.arrayElements else { throw RequestError(field: field, "expected an array, found \(value.kindDescription)") }
        for (index, element) in elements.enumerated() {
            if case .array = element {
                try flatten(element, field: "\(field)[\(index)]", what: what, accept)
            } else if try !accept(element) {
                throw RequestError(field: "\(field)[\(index)]", "expected \(what), found \(element.kindDescription)")
            }
        }
    }
}
