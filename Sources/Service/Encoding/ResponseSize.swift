import Tensors

/// Upper bounds on response sizes from shapes alone, for the 413 check before a model runs.
public enum ResponseSize {
    /// The most bytes one element takes as a JSON number plus its comma: 17 for float32/float16
    /// (`-0.0000012345678`, `-1.2345678e-38`), 20 + sign for int64, `false` for bool.
    public static func maximumJSONElementBytes(_ dtype: DType) -> Int {
        switch dtype {
        case .float32, .float16, .bfloat16: JSONNumberFormat.maximumFloatLength + 1
        case .int64: 21
        case .int32: 12
        case .uint8: 4
        case .bool: 6
        }
    }

    /// The most bytes a features JSON body can take for these layers (names, shapes, dtype).
    public static func maximumFeaturesJSONBytes(_ features: [(name: String, shape: [Int])], dtype: DType,
                                                encoding: FeatureEncoding, layout: ArrayLayout,
                                                modelName: String, modelVersion: String) -> Int {
        // Fixed parts: model, timings (each ≤ 24 bytes), punctuation.
        var total = 160 + 6 * (modelName.utf8.count + modelVersion.utf8.count)
        for (name, shape) in features {
            let count = Tensor.elementCount(shape)
            total += 80 + 6 * name.utf8.count + 21 * shape.count
            switch encoding {
            case .json:
                total += count * maximumJSONElementBytes(dtype)
                if layout == .nested {
                    // Brackets and commas around every row.
                    let rows = shape.count > 1 ? count / Swift.max(shape[shape.count - 1], 1) : 1
                    total += 4 * rows * Swift.max(shape.count, 1)
                }
            case .base64:
                total += Base64.encodedLength(count * dtype.byteSize) + 2
            }
        }
        return total
    }

    /// The exact byte count of a safetensors body's tensor data plus an upper bound on its header.
    public static func maximumSafetensorsBytes(_ features: [(name: String, shape: [Int])], dtype: DType) -> Int {
        var total = 8 + 256
        for (name, shape) in features {
            total += Tensor.elementCount(shape) * dtype.byteSize + 96 + 6 * name.utf8.count + 21 * shape.count
        }
        return total
    }
}
