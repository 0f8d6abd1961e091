/// The scalar an attribution differentiates, summed over the batch so each sample's gradients
/// are its own (samples do not interact in eval mode).
///
/// JSON (the `target` of `POST /v1/models/{name}/attributions`): `{"class": 3}`,
/// `{"output_index": [0, 3]}` or `{"layer": "layer4", "reduce": "l2"}`.
public enum AttributionTarget: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The logit of class `k` of a [N, classes] output: Σ_n output[n, k].
    case classIndex(Int)
    /// One element of the output, by a full index (one entry per output axis).
    case outputIndex([Int])
    /// The L2 norm of a layer's activation per sample: Σ_n ‖activation[n]‖₂ (a layer name as
    /// in feature capture: `layer3`, `encoder.layers.encoder_layer_1`, `layer1.0.relu_1`).
    case layerNorm(layer: String)

    private enum CodingKeys: String, CodingKey {
        case classIndex = "class"
        case outputIndex = "output_index"
        case layer
        case reduce
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let present = container.allKeys.filter { $0 != .reduce }
        guard present.count == 1, let key = present.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "target needs exactly one of \"class\", \"output_index\" or \"layer\""))
        }
        switch key {
        case .classIndex:
            self = .classIndex(try container.decode(Int.self, forKey: .classIndex))
        case .outputIndex:
            self = .outputIndex(try container.decode([Int].self, forKey: .outputIndex))
        default:
            let reduce = try container.decodeIfPresent(String.self, forKey: .reduce) ?? "l2"
            guard reduce == "l2" else {
                throw DecodingError.dataCorruptedError(forKey: .reduce, in: container,
                                                       debugDescription: "unsupported reduce \"\(reduce)\" (expected \"l2\")")
            }
            self = .layerNorm(layer: try container.decode(String.self, forKey: .layer))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .classIndex(let k): try container.encode(k, forKey: .classIndex)
        case .outputIndex(let index): try container.encode(index, forKey: .outputIndex)
        case .layerNorm(let layer):
            try container.encode(layer, forKey: .layer)
            try container.encode("l2", forKey: .reduce)
        }
    }

    public var description: String {
        switch self {
        case .classIndex(let k): "class \(k)"
        case .outputIndex(let index): "output\(index)"
        case .layerNorm(let layer): "‖\(layer)‖₂"
        }
    }
}
