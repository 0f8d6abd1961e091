import HTTP
import Tensors

/// The answer to `POST /v1/embeddings`, in OpenAI's shape plus Periscope's per-input report:
///
/// ```
/// {"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,…] | "<base64>",
///   "tokens":7,"truncated":false}],"model":"all-minilm-l6-v2","usage":{"prompt_tokens":7,"total_tokens":7}}
/// ```
///
/// `base64` is the little-endian float32 bytes of the vector (what the OpenAI SDKs decode). With
/// several layers (`layers`), each input has one item per layer, in input order, naming its `layer`.
struct EmbeddingsResponse {
    var modelName: String
    /// Per layer, the vectors [inputs, dimensions].
    var items: [(layer: String, vectors: Tensor)]
    /// The layer names to report (nil: the default embedding, no `layer` field).
    var layerNames: [String]?
    var text: TextInputReport?

    func body(format: EmbeddingsRequest.EncodingFormat) throws -> [UInt8] {
        let rows = items.first?.vectors.shape[0] ?? 0
        let width = items.reduce(0) { $0 + $1.vectors.shape[1] }
        let buffer = JSONOutputBuffer(capacity: 256 + rows * (96 + width * (format == .base64 ? 6 : 14)))
        let columns = items.map { $0.vectors.to(.float32).toArray() }
        buffer.append(raw: #"{"object":"list","data":["#)
        var first = true
        for row in 0..<rows {
            for (position, item) in items.enumerated() {
                let width = item.vectors.shape[1]
                let vector = Array(columns[position][(row * width)..<((row + 1) * width)])
                if !first { buffer.append(UInt8(ascii: ",")) }
                first = false
                buffer.append(raw: #"{"object":"embedding","index":"#)
                buffer.append(integer: row)
                if let layerNames {
                    buffer.append(raw: #","layer":"#)
                    buffer.append(string: layerNames[position])
                }
                buffer.append(raw: #","embedding":"#)
                switch format {
                case .float:
                    buffer.append(UInt8(ascii: "["))
                    for (index, value) in vector.enumerated() {
                        guard value.isFinite else {
                            throw HTTPError(.internalServerError, "the embedding of input \(row) holds a non-finite value at \(index)", errorType: "non_finite_output")
                        }
                        if index > 0 { buffer.append(UInt8(ascii: ",")) }
                        buffer.append(float: value)
                    }
                    buffer.append(UInt8(ascii: "]"))
                case .base64:
                    // Little-endian float32 (every supported platform is little-endian).
                    buffer.append(string: vector.withUnsafeBytes { Base64.encode($0) })
                }
                if let text {
                    buffer.append(raw: #","tokens":"#)
                    buffer.append(integer: text.tokenCounts[row])
                    buffer.append(raw: #","truncated":"#)
                    buffer.append(raw: text.tokenCounts[row] < text.untruncatedCounts[row] ? "true" : "false")
                }
                buffer.append(UInt8(ascii: "}"))
            }
        }
        buffer.append(raw: #"],"model":"#)
        buffer.append(string: modelName)
        let tokens = text?.tokenCounts.reduce(0, +) ?? 0
        buffer.append(raw: #","usage":{"prompt_tokens":"#)
        buffer.append(integer: tokens)
        buffer.append(raw: #","total_tokens":"#)
        buffer.append(integer: tokens)
        buffer.append(raw: "}}")
        return buffer.takeBytes()
    }
}
