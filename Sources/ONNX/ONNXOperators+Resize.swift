import Tensors

// Resize (opsets 13, 18 and 19 of the default domain; onnx/docs/Operators.md, onnx/reference/ops/
// op_resize.py) with ONNX Runtime's arithmetic (core/providers/cpu/tensor/upsamplebase.h,
// upsample.cc, upsample_aa.cc): coordinates, scales and output sizes in float32 as it computes them.
//
// Every resized axis is one separable pass (`Tensor.resampled`) with taps for its mode — nearest
// (one input), linear (two, the coordinate clamped to the input), cubic (four, clamped to the border
// or `exclude_outside`), or the antialiased linear/cubic filters that widen when downscaling — from
// the last resized axis to the first, so any set of axes of any rank resizes (an N-linear or
// N-cubic interpolation is the product of the 1-D ones). Refused with a clear error:
// `tf_crop_and_resize` (region-of-interest cropping with extrapolation), antialiasing with
// `nearest`, and non-float inputs.

extension ONNXOperators {
    /// How an output coordinate maps to an input coordinate along one axis.
    enum ResizeCoordinates: String {
        case halfPixel = "half_pixel", halfPixelSymmetric = "half_pixel_symmetric", pytorchHalfPixel = "pytorch_half_pixel"
        case alignCorners = "align_corners", asymmetric = "asymmetric", tfHalfPixelForNN = "tf_half_pixel_for_nn"

        /// The input coordinate of output position `index`, as ONNX Runtime computes it (float32,
        /// except half_pixel_symmetric's double sum).
        func source(_ index: Int, scale: Float, outputSize: Int, inputSize: Int) -> Float {
            let x = Float(index), resized = Float(outputSize), original = Float(inputSize)
            switch self {
            case .halfPixel: return (x + 0.5) / scale - 0.5
            case .pytorchHalfPixel: return resized > 1 ? (x + 0.5) / scale - 0.5 : 0
            case .alignCorners: return resized == 1 ? 0 : x * (original - 1) / (resized - 1)
            case .asymmetric: return x / scale
            case .tfHalfPixelForNN: return (x + 0.5) / scale
            case .halfPixelSymmetric:
                let adjustment = resized / (scale * original)
                let offset = original / 2 * (1 - adjustment)
                return Float(Double(offset) + (Double(x) + 0.5) / Double(scale) - 0.5)
            }
        }
    }

    /// A form of a supported operator that this runtime refuses at load time, listed with the
    /// unsupported operators: Resize's `tf_crop_and_resize`.
    static func unsupportedForm(_ node: ONNXNode) -> String? {
        guard node.operatorType == "Resize", case .string("tf_crop_and_resize") = node.attributes["coordinate_transformation_mode"] else {
            return nil
        }
        return "Resize with coordinate_transformation_mode tf_crop_and_resize"
    }

    /// Resize: the output shape from `scales` or `sizes` (with `axes` and `keep_aspect_ratio_policy`
    /// from opset 18), then one resampling pass per resized axis.
    static func resize(_ node: ONNXNode, _ inputs: [Tensor?], opset: Int64) throws -> Tensor {
        let x = try input(inputs, 0, node)
        guard x.dtype == .float32 else { throw node.failure("input X must be a float tensor, got \(x.dtype) (only float resizing is supported)") }
        let mode = try node.string("mode", default: "nearest")
        guard ["nearest", "linear", "cubic"].contains(mode) else { throw node.failure("mode '\(mode)' is not one of nearest, linear, cubic") }
        let coordinateName = try node.string("coordinate_transformation_mode", default: "half_pixel")
        if coordinateName == "tf_crop_and_resize" {
            throw node.failure("coordinate_transformation_mode 'tf_crop_and_resize' (region-of-interest crop with extrapolation) is not supported")
        }
        guard let coordinates = ResizeCoordinates(rawValue: coordinateName) else {
            throw node.failure("unknown coordinate_transformation_mode '\(coordinateName)'")
        }
        let nearestMode = try node.string("nearest_mode", default: "round_prefer_floor")
        guard ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"].contains(nearestMode) else {
            throw node.failure("unknown nearest_mode '\(nearestMode)'")
        }
        let cubicA = try node.float("cubic_coeff_a", default: -0.75)
        let excludeOutside = try node.int("exclude_outside", default: 0) != 0
        // axes, antialias and keep_aspect_ratio_policy exist from opset 18 on (ONNX Runtime ignores them before).
        let antialias = opset >= 18 ? try node.int("antialias", default: 0) != 0 : false
        if antialias && mode == "nearest" { throw node.failure("antialias applies to the linear and cubic modes only, not nearest") }
        let policy = opset >= 18 ? try node.string("keep_aspect_ratio_policy", default: "stretch") : "stretch"
        guard ["stretch", "not_larger", "not_smaller"].contains(policy) else {
            throw node.failure("unknown keep_aspect_ratio_policy '\(policy)'")
        }
        let rank = x.rank
        let axes = try (opset >= 18 ? node.ints("axes") : nil).map { try $0.map { try axis($0, rank: rank, node) } } ?? Array(0..<rank)
        guard Set(axes).count == axes.count else { throw node.failure("axes \(axes) repeat an axis") }

        let (scales, outputShape) = try resizeGeometry(node, inputs, shape: x.shape, axes: axes, policy: policy)
        // ONNX Runtime returns the input when no dimension changes.
        if outputShape == x.shape { return x }
        guard outputShape.allSatisfy({ $0 >= 0 }),
              outputShape.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? .max : $0 * $1 }) <= 1 << 31 else {
            throw node.failure("output shape \(outputShape) is invalid or too large")
        }
        var y = x
        for axis in axes.sorted(by: >) where !(scales[axis] == 1 && outputShape[axis] == x.shape[axis]) {
            let inputSize = x.shape[axis], outputSize = outputShape[axis]
            guard inputSize > 0 else {
                throw node.failure("cannot resize an empty axis \(axis) of \(x.shape) to \(outputSize)")
            }
            let scale = scales[axis]
            let sources = (0..<outputSize).map { coordinates.source($0, scale: scale, outputSize: outputSize, inputSize: inputSize) }
            let taps: ResampleTaps
            switch mode {
            case "nearest":
                taps = ResampleTaps.nearest(indices: sources.map { nearestIndex($0, mode: nearestMode) }, inputSize: inputSize)
            case _ where antialias:
                let cubic = mode == "cubic"
                // ONNX Runtime: centre ½ + source, filter widened by 1/scale when downscaling; taps past
                // the input fold onto the edges unless exclude_outside.
                taps = ResampleTaps.antialiased(inputSize: inputSize, outputRange: 0..<outputSize, scale: 1 / scale,
                                                interpolationSize: cubic ? 4 : 2, foldOutside: !excludeOutside,
                                                center: { 0.5 + sources[$0] }) { distance in
                    if !cubic { return distance < 1 ? 1 - distance : 0 }
                    if distance < 1 { return ((cubicA + 2) * distance - (cubicA + 3)) * distance * distance + 1 }
                    return distance < 2 ? (((distance - 5) * distance + 8) * distance - 4) * cubicA : 0
                }
            case "linear":
                taps = ResampleTaps.linear(sources: sources, inputSize: inputSize)
            default:
                taps = ResampleTaps.cubic(sources: sources, inputSize: inputSize, a: cubicA, excludeOutside: excludeOutside)
            }
            y = y.resampled(axis: axis, taps: taps)
        }
        return y
    }

    /// The scale of every axis (1 where not resized) and the output shape, from the `scales` input
    /// (output = ⌊scale · input⌋ in float32) or the `sizes` input (scale = output / input, adjusted
    /// by `keep_aspect_ratio_policy`), each listing the `axes`.
    static func resizeGeometry(_ node: ONNXNode, _ inputs: [Tensor?], shape: [Int], axes: [Int], policy: String) throws
        -> (scales: [Float], outputShape: [Int]) {
        var scales = [Float](repeating: 1, count: shape.count), outputShape = shape
        let scalesInput = optionalInput(inputs, 2).flatMap { $0.count > 0 ? $0 : nil }
        let sizesInput = optionalInput(inputs, 3).flatMap { $0.count > 0 ? $0 : nil }
        if let scalesInput {
            guard sizesInput == nil else { throw node.failure("only one of scales and sizes may be given") }
            guard scalesInput.dtype == .float32 else { throw node.failure("scales must be a float tensor, got \(scalesInput.dtype)") }
            let values = scalesInput.toArray()
            guard values.count == axes.count else { throw node.failure("\(values.count) scales for \(axes.count) axes of \(shape)") }
            for (axis, scale) in zip(axes, values) {
                guard scale > 0, scale.isFinite else { throw node.failure("scales \(values) must be positive") }
                let size = scale * Float(shape[axis])
                guard size < Float(1 << 31) else { throw node.failure("scale \(scale) makes axis \(axis) of \(shape) too large") }
                scales[axis] = scale
                outputShape[axis] = Int(size)
            }
            return (scales, outputShape)
        }
        guard let sizesInput else { throw node.failure("one of scales and sizes must be given") }
        let sizes = try integers(sizesInput, node)
        guard sizes.count == axes.count else { throw node.failure("\(sizes.count) sizes for \(axes.count) axes of \(shape)") }
        guard sizes.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else { throw node.failure("sizes \(sizes) must be non-negative") }
        for (axis, size) in zip(axes, sizes) {
            if shape[axis] == 0 {
                guard size == 0 else { throw node.failure("cannot resize an empty axis \(axis) of \(shape) to \(size)") }
            } else {
                scales[axis] = Float(size) / Float(shape[axis])
            }
            outputShape[axis] = size
        }
        if policy != "stretch" {
            // One scale for every listed axis, the smallest (not_larger) or largest (not_smaller);
            // output = round(scale · input), halves away from zero.
            let chosen = axes.map { scales[$0] }
            guard let scale = policy == "not_larger" ? chosen.min() : chosen.max() else { return (scales, outputShape) }
            for axis in axes {
                scales[axis] = scale
                outputShape[axis] = Int((scale * Float(shape[axis])).rounded())
            }
        }
        return (scales, outputShape)
    }

    /// The input index nearest to source coordinate `x` under `nearest_mode` (before clamping).
    static func nearestIndex(_ x: Float, mode: String) -> Int {
        if x.isNaN { return 0 }
        let bounded = Swift.max(Swift.min(x, Float(1 << 31)), -Float(1 << 31))
        switch mode {
        case "round_prefer_ceil": return Int(bounded.rounded())
        case "floor": return Int(bounded.rounded(.down))
        case "ceil": return Int(bounded.rounded(.up))
        default:
            // Halfway cases go down.
            return bounded == Float(Int(bounded)) + 0.5 ? Int(bounded.rounded(.down)) : Int(bounded.rounded())
        }
    }
}
