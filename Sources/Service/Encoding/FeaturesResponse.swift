import HTTP
import Tensors

/// The answer to a native features request, encoded as it is sent:
///
/// ```
/// {"model":{"name":"resnet50","version":1},
///  "features":{"layer3":{"shape":[1,1024,14,14],"dtype":"float32","data":[0.1,-2.5,...]}},
///  "timing_ms":{"queue":0.12,"compute":15.3,"encode":2.1}}
/// ```
///
/// With `encoding: base64` each feature's `data` is a base64 string of its little-endian bytes and
/// the feature carries `"encoding":"base64"`. `timing_ms.encode` is measured while the body is
/// produced and written last. The safetensors form (for `Accept: application/octet-stream`) holds
/// the same tensors under their layer names and `model`, `version`, `timing_ms` in `__metadata__`.
/// Text inputs add `"text_inputs": [{"tokens": n, "truncated": false}, …]` (in `__metadata__` too).
///
/// Attributions are answered in the same form, with the tensors under `"attributions"` (`collection`).
public struct FeaturesResponse: Sendable {
    public var modelName: String
    public var modelVersion: String
    /// Post-processed features in request order.
    public var features: [(name: String, tensor: Tensor)]
    public var queueMilliseconds: Double
    public var computeMilliseconds: Double
    /// The JSON key the tensors go under: `features`, or `attributions`.
    public var collection: String
    /// Text inputs: tokens per input and whether it was truncated (`text_inputs`).
    public var textInputs: TextInputReport?

    public init(modelName: String, modelVersion: String, features: [(name: String, tensor: Tensor)],
                queueMilliseconds: Double, computeMilliseconds: Double, collection: String = "features") {
        self.collection = collection
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.features = features
        self.queueMilliseconds = queueMilliseconds
        self.computeMilliseconds = computeMilliseconds
    }

    /// The JSON body. Call `validate()` on it before sending the response head.
    public func jsonBody(encoding: FeatureEncoding = .json, layout: ArrayLayout = .flat,
                         nonFinite: NonFinitePolicy = .error) -> StreamingBody {
        let header = JSONOutputBuffer(capacity: 256)
        header.append(raw: #"{"model":{"name":"#)
        header.append(string: modelName)
        header.append(raw: #","version":"#)
        // openapi.yaml's ModelRef: the version is an integer (a non-numeric one stays a string).
        if let number = Int(modelVersion) { header.append(integer: number) } else { header.append(string: modelVersion) }
        header.append(raw: "},")
        header.append(string: collection)
        header.append(raw: ":{")
        var segments: [StreamingBody.Segment] = []
        for (index, feature) in features.enumerated() {
            if index > 0 { header.append(UInt8(ascii: ",")) }
            header.append(string: feature.name)
            header.append(raw: #":{"shape":"#)
            header.append(integers: feature.tensor.shape)
            header.append(raw: #","dtype":"#)
            header.append(string: feature.tensor.dtype.rawValue)
            if encoding == .base64 { header.append(raw: #","encoding":"base64""#) }
            header.append(raw: #","data":"#)
            segments.append(.bytes(header.takeBytes()))
            switch encoding {
            case .json: segments.append(.numbers(feature.tensor, layout: layout, nonFinite: nonFinite, name: feature.name))
            case .base64: segments.append(.base64(feature.tensor))
            }
            header.append(UInt8(ascii: "}"))
        }
        header.append(UInt8(ascii: "}"))
        if let textInputs {
            header.append(raw: #","text_inputs":"#)
            textInputs.append(to: header)
        }
        header.append(raw: #","timing_ms":{"queue":"#)
        header.append(double: Self.rounded(queueMilliseconds))
        header.append(raw: #","compute":"#)
        header.append(double: Self.rounded(computeMilliseconds))
        header.append(raw: #","encode":"#)
        segments.append(.bytes(header.takeBytes()))
        segments.append(.trailer { duration in
            let trailer = JSONOutputBuffer(capacity: 32)
            let milliseconds = Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) * 1e-15
            trailer.append(double: Self.rounded(milliseconds))
            trailer.append(raw: "}}")
            return trailer.takeBytes()
        })
        return StreamingBody(segments)
    }

    /// The safetensors body (`Accept: application/octet-stream`), with a known length: tensors named
    /// by layer; `__metadata__` holds `model`, `version` and `timing_ms` (the JSON object of the
    /// JSON form; `encode` is the time to build the header, the bytes are then copied as they are).
    public func safetensorsBody() -> StreamingBody {
        let started = ContinuousClock.now
        let timing = JSONOutputBuffer(capacity: 64)
        timing.append(raw: #"{"queue":"#)
        timing.append(double: Self.rounded(queueMilliseconds))
        timing.append(raw: #","compute":"#)
        timing.append(double: Self.rounded(computeMilliseconds))
        timing.append(raw: #","encode":"#)
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) * 1e-15
        timing.append(double: Self.rounded(milliseconds))
        timing.append(UInt8(ascii: "}"))
        var metadata = ["model": modelName, "version": modelVersion, "timing_ms": String(decoding: timing.takeBytes(), as: UTF8.self)]
        if let textInputs {
            let report = JSONOutputBuffer(capacity: 256)
            textInputs.append(to: report)
            metadata["text_inputs"] = String(decoding: report.takeBytes(), as: UTF8.self)
        }
        return SafetensorsBody.make(features, metadata: metadata)
    }

    /// Milliseconds to the microsecond: timings are not more precise than that.
    static func rounded(_ milliseconds: Double) -> Double { (milliseconds * 1000).rounded() / 1000 }
}
