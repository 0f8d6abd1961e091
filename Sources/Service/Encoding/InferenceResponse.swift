import HTTP
import Tensors

/// A V2 infer response: JSON, or JSON followed by binary tensor data (Triton's binary extension).
///
/// ```
/// {"model_name":"resnet50","model_version":"1","id":"7","outputs":[
///   {"name":"avgpool","datatype":"FP32","shape":[1,2048,1,1],"data":[0.1,...]},
///   {"name":"layer4","datatype":"FP32","shape":[1,2048,7,7],"parameters":{"binary_data_size":401408}}]}
/// <401408 bytes of layer4, little-endian>
/// ```
///
/// With any binary output the response carries `Inference-Header-Content-Length` (the JSON's byte
/// count) and the binary parts follow in output order; the JSON part is then built in memory (it
/// holds only the non-binary outputs) while the binary parts stream.
public struct InferenceResponse: Sendable {
    public struct Output: Sendable {
        public var name: String
        public var tensor: Tensor
        /// Send as binary data after the JSON.
        public var binary: Bool

        public init(name: String, tensor: Tensor, binary: Bool) {
            self.name = name
            self.tensor = tensor
            self.binary = binary
        }
    }

    public var modelName: String
    public var modelVersion: String?
    public var id: String?
    public var outputs: [Output]

    public init(modelName: String, modelVersion: String?, id: String?, outputs: [Output]) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.id = id
        self.outputs = outputs
    }

    /// The encoded response: extra headers (`Content-Type`, and with binary data
    /// `Inference-Header-Content-Length` and `Content-Length`) and the body. Validate the body
    /// before sending the head.
    public func encoded(nonFinite: NonFinitePolicy = .error) throws(ResponseEncodingError) -> (headers: HTTPHeaders, body: StreamingBody) {
        let buffer = JSONOutputBuffer(capacity: 256)
        buffer.append(raw: #"{"model_name":"#)
        buffer.append(string: modelName)
        if let modelVersion {
            buffer.append(raw: #","model_version":"#)
            buffer.append(string: modelVersion)
        }
        if let id {
            buffer.append(raw: #","id":"#)
            buffer.append(string: id)
        }
        buffer.append(raw: #","outputs":["#)
        var segments: [StreamingBody.Segment] = []
        var binaryParts: [StreamingBody.Segment] = []
        for (index, output) in outputs.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(raw: #"{"name":"#)
            buffer.append(string: output.name)
            buffer.append(raw: #","datatype":""#)
            buffer.append(Array(V2Datatype(output.tensor.dtype).rawValue.utf8))
            buffer.append(raw: #"","shape":"#)
            buffer.append(integers: output.tensor.shape)
            if output.binary {
                buffer.append(raw: #","parameters":{"binary_data_size":"#)
                buffer.append(integer: output.tensor.byteCount)
                buffer.append(raw: "}}")
                binaryParts.append(.raw(output.tensor))
            } else {
                buffer.append(raw: #","data":"#)
                segments.append(.bytes(buffer.takeBytes()))
                segments.append(.numbers(output.tensor, layout: .flat, nonFinite: nonFinite, name: output.name))
                buffer.append(UInt8(ascii: "}"))
            }
        }
        buffer.append(raw: "]}")
        segments.append(.bytes(buffer.takeBytes()))
        var headers = HTTPHeaders()
        guard !binaryParts.isEmpty else {
            headers.add(name: "Content-Type", value: "application/json")
            return (headers, StreamingBody(segments))
        }
        // The JSON length goes in a header, so the JSON part is produced now.
        let json = try StreamingBody(segments).collect()
        let body = StreamingBody([.bytes(json)] + binaryParts)
        headers.add(name: "Content-Type", value: "application/octet-stream")
        headers.add(name: "Inference-Header-Content-Length", value: String(json.count))
        headers.add(name: "Content-Length", value: String(body.knownLength!))
        return (headers, body)
    }
}
