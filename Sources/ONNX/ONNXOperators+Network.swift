import Foundation
import NN
import Tensors

// Network operators on the project's fast kernels: Conv (packed weights, folded BatchNorm, fused
// ReLU), MatMul/Gemm (packed GEMM with the bias in the epilogue), normalization, softmax,
// pooling and reductions.

extension ONNXOperators {
    // MARK: - Convolution

    /// Conv, optionally followed by a BatchNormalization folded into its weights and a ReLU in the
    /// GEMM's epilogue (the plan fuses only when nothing observes the intermediate values).
    static func convolution(_ node: ONNXNode, _ inputs: [Tensor?], batchNorm: (node: ONNXNode, inputs: [Tensor?])?,
                            activation: FusedActivation, cache: ONNXStepCache) throws -> Tensor {
        var x = try floatInput(inputs, 0, node)
        var weight = try floatInput(inputs, 1, node)
        let bias = optionalInput(inputs, 2)
        let oneDimensional = x.rank == 3
        guard x.rank == 4 || oneDimensional, weight.rank == x.rank else {
            throw node.failure("only 1-D and 2-D convolutions are supported (input \(x.shape), weight \(weight.shape))")
        }
        if oneDimensional {
            x = x.unsqueezed(axis: 2)
            weight = weight.unsqueezed(axis: 2)
        }
        let groups = try node.int("group", default: 1)
        let outputs = weight.shape[0], kernel = (weight.shape[2], weight.shape[3])
        guard groups > 0, outputs % groups == 0, x.shape[1] == weight.shape[1] * groups else {
            throw node.failure("input \(x.shape) does not match weight \(weight.shape) with \(groups) groups")
        }
        if let bias, bias.shape != [outputs] || bias.dtype != .float32 { throw node.failure("bias \(bias.shape) does not match \(outputs) outputs") }
        func pair(_ values: [Int]?, _ defaultValue: Int) throws -> (Int, Int) {
            guard let values else { return (defaultValue, defaultValue) }
            if oneDimensional && values.count == 1 { return (1, values[0]) }
            guard values.count == 2 else { throw node.failure("expected 2 values, got \(values)") }
            return (values[0], values[1])
        }
        let strides = try pair(node.ints("strides"), 1), dilations = try pair(node.ints("dilations"), 1)
        guard strides.0 > 0, strides.1 > 0, dilations.0 > 0, dilations.1 > 0 else { throw node.failure("strides and dilations must be positive") }
        if let shape = try node.ints("kernel_shape") {
            let expected = oneDimensional ? [kernel.1] : [kernel.0, kernel.1]
            guard shape == expected else { throw node.failure("kernel_shape \(shape) does not match weight \(weight.shape)") }
        }
        var pads = try explicitPads(node, oneDimensional: oneDimensional, input: (x.shape[2], x.shape[3]), kernel: kernel,
                                    strides: strides, dilations: dilations)
        if pads.top != pads.bottom || pads.left != pads.right {
            x = try padded(x, before: [0, 0, pads.top, pads.left], after: [0, 0, pads.bottom, pads.right], value: 0, node)
            pads = (0, 0, 0, 0)
        }
        let height = x.shape[2] + 2 * pads.top - dilations.0 * (kernel.0 - 1) - 1
        let width = x.shape[3] + 2 * pads.left - dilations.1 * (kernel.1 - 1) - 1
        guard height >= 0, width >= 0 else { throw node.failure("input \(x.shape) is too small for kernel \(kernel)") }

        let normalization = try batchNormParameters(batchNorm, outputs: outputs)
        let output: Tensor
        if cache.weightIsConstant {
            let packed = packedConvolutionWeights(weight: weight, bias: bias, normalization: normalization, cache: cache)
            if activation == .silu && !GradMode.isEnabled {
                // SiLU in the epilogue (no gradient to record): each block activated while in cache.
                output = Tensor.conv2dSiLU(x, packedWeight: packed.matrix, bias: packed.bias, stride: strides,
                                           padding: (pads.top, pads.left), dilation: dilations, groups: groups)
            } else {
                let convolved = Tensor.conv2d(x, packedWeight: packed.matrix, bias: packed.bias, stride: strides,
                                              padding: (pads.top, pads.left), dilation: dilations, groups: groups, relu: activation == .relu)
                output = activation == .relu ? convolved : activated(convolved, activation)  // ReLU ran in the epilogue
            }
        } else {
            // A computed weight (rare): convolve with it directly, folding on every call.
            let folded = normalization.map { foldBatchNorm(weight: weight, bias: bias, $0) }
            let plain = Tensor.conv2d(x, weight: folded?.weight ?? weight, bias: folded?.bias ?? bias, stride: strides,
                                      padding: (pads.top, pads.left), dilation: dilations, groups: groups)
            output = activated(plain, activation)
        }
        return oneDimensional ? output.squeezed(axis: 2) : output
    }

    typealias BatchNormParameters = (scale: Tensor, shift: Tensor, mean: Tensor, variance: Tensor, epsilon: Float)

    /// The parameters of a BatchNormalization fused into a convolution with `outputs` channels.
    static func batchNormParameters(_ batchNorm: (node: ONNXNode, inputs: [Tensor?])?, outputs: Int) throws -> BatchNormParameters? {
        guard let batchNorm else { return nil }
        let scale = try floatInput(batchNorm.inputs, 1, batchNorm.node), shift = try floatInput(batchNorm.inputs, 2, batchNorm.node)
        let mean = try floatInput(batchNorm.inputs, 3, batchNorm.node), variance = try floatInput(batchNorm.inputs, 4, batchNorm.node)
        guard [scale, shift, mean, variance].allSatisfy({ $0.shape == [outputs] }) else {
            throw batchNorm.node.failure("parameters do not match \(outputs) channels")
        }
        return (scale, shift, mean, variance, try batchNorm.node.float("epsilon", default: 1e-5))
    }

    /// A constant convolution weight (BatchNorm folded in) as the matrix [O, C/G·R·S] with its
    /// bias, packed once for the process and shared by both layouts' kernels.
    static func packedConvolutionWeights(weight: Tensor, bias: Tensor?, normalization: BatchNormParameters?,
                                         cache: ONNXStepCache) -> PackedWeights {
        var sources = [weight]
        if let bias { sources.append(bias) }
        var kind = "onnx-conv"
        if let normalization {
            sources += [normalization.scale, normalization.shift, normalization.mean, normalization.variance]
            kind += " bn eps=\(normalization.epsilon)"
        }
        return cache.weights(kind: kind, sources: sources) {
            guard let normalization else {
                return PackedWeights.Payload(matrix: PackedMatrix(convolutionWeight: weight.detached()), bias: bias?.detached())
            }
            let folded = foldBatchNorm(weight: weight, bias: bias, normalization)
            return PackedWeights.Payload(matrix: PackedMatrix(convolutionWeight: folded.weight), bias: folded.bias)
        }
    }

    /// W'[o] = W[o]·s[o], b'[o] = (b[o] − μ[o])·s[o] + β[o], s = γ/√(σ² + ε).
    static func foldBatchNorm(weight: Tensor, bias: Tensor?,
                              _ normalization: BatchNormParameters)
        -> (weight: Tensor, bias: Tensor) {
        let outputs = weight.shape[0], perOutput = weight.count / Swift.max(outputs, 1)
        let gamma = normalization.scale.toArray(), beta = normalization.shift.toArray()
        let mean = normalization.mean.toArray(), variance = normalization.variance.toArray()
        let original = bias?.toArray()
        var folded = weight.detachedCopy()
        var foldedBias = [Float](repeating: 0, count: outputs)
        folded.withMutableFloats { w in
            for o in 0..<outputs {
                let scale = gamma[o] * (1 / (variance[o] + normalization.epsilon).squareRoot())
                for i in 0..<perOutput { w[o * perOutput + i] *= scale }
                foldedBias[o] = ((original?[o] ?? 0) - mean[o]) * scale + beta[o]
            }
        }
        return (folded, Tensor(shape: [outputs], scalars: foldedBias))
    }

    /// (top, left, bottom, right) from `pads` or `auto_pad`.
    static func explicitPads(_ node: ONNXNode, oneDimensional: Bool, input: (Int, Int), kernel: (Int, Int),
                             strides: (Int, Int), dilations: (Int, Int)) throws -> (top: Int, left: Int, bottom: Int, right: Int) {
        let autoPad = try node.string("auto_pad", default: "NOTSET")
        switch autoPad {
        case "NOTSET":
            guard let pads = try node.ints("pads") else { return (0, 0, 0, 0) }
            guard pads.allSatisfy({ $0 >= 0 }) else { throw node.failure("negative pads \(pads)") }
            if oneDimensional {
                guard pads.count == 2 else { throw node.failure("expected 2 pads, got \(pads)") }
                return (0, pads[0], 0, pads[1])
            }
            guard pads.count == 4 else { throw node.failure("expected 4 pads, got \(pads)") }
            return (pads[0], pads[1], pads[2], pads[3])
        case "VALID":
            return (0, 0, 0, 0)
        case "SAME_UPPER", "SAME_LOWER":
            func split(_ size: Int, _ kernel: Int, _ stride: Int, _ dilation: Int) -> (Int, Int) {
                let output = (size + stride - 1) / stride
                let total = Swift.max(0, (output - 1) * stride + (kernel - 1) * dilation + 1 - size)
                return autoPad == "SAME_UPPER" ? (total / 2, total - total / 2) : (total - total / 2, total / 2)
            }
            let rows = split(input.0, kernel.0, strides.0, dilations.0), columns = split(input.1, kernel.1, strides.1, dilations.1)
            return (rows.0, columns.0, rows.1, columns.1)
        default:
            throw node.failure("unknown auto_pad '\(autoPad)'")
        }
    }

    static func batchNormalization(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try floatInput(inputs, 0, node)
        guard x.rank >= 2 else { throw node.failure("input \(x.shape) needs rank ≥ 2") }
        let parameters = try (1...4).map { try floatInput(inputs, $0, node) }
        guard parameters.allSatisfy({ $0.shape == [x.shape[1]] }) else { throw node.failure("parameters do not match \(x.shape[1]) channels") }
        return Tensor.batchNorm(x, runningMean: parameters[2], runningVariance: parameters[3], weight: parameters[0], bias: parameters[1],
                                epsilon: try node.float("epsilon", default: 1e-5))
    }

    static func layerNormalization(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try floatInput(inputs, 0, node)
        let axis = try axis(try node.int("axis", default: -1), rank: x.rank, node)
        let normalizedShape = Array(x.shape[axis...])
        func fitted(_ tensor: Tensor?) throws -> Tensor? {
            guard let tensor else { return nil }
            guard tensor.dtype == .float32 else { throw node.failure("scale and bias must be float tensors") }
            if tensor.shape == normalizedShape { return tensor }
            guard try ONNXBroadcast.shape([tensor.shape, normalizedShape], node: node) == normalizedShape else {
                throw node.failure("scale/bias \(tensor.shape) do not broadcast to \(normalizedShape)")
            }
            return tensor.broadcast(to: normalizedShape)
        }
        return Tensor.layerNorm(x, normalizedShape: normalizedShape, weight: try fitted(try input(inputs, 1, node)),
                                bias: try fitted(optionalInput(inputs, 2)), epsilon: try node.float("epsilon", default: 1e-5))
    }

    // MARK: - Matrix products

    /// MatMul with NumPy semantics, plus the fused steps after it: a bias over the output columns (a
    /// following Add) and an activation, or a residual of the output's exact shape, which the caller has
    /// checked, with no activation. A constant 2-D right operand runs as a linear layer on a weight packed once.
    static func matmul(_ node: ONNXNode, _ inputs: [Tensor?], bias: Tensor?, activation: FusedActivation = .none,
                       adding residual: Tensor? = nil, cache: ONNXStepCache) throws -> Tensor {
        var a = try floatInput(inputs, 0, node), b = try floatInput(inputs, 1, node)
        guard a.rank >= 1, b.rank >= 1 else { throw node.failure("operands must have rank ≥ 1") }
        let vectorA = a.rank == 1, vectorB = b.rank == 1
        if vectorA { a = a.reshaped([1, a.shape[0]]) }
        if vectorB { b = b.reshaped([b.shape[0], 1]) }
        let k = a.shape[a.rank - 1]
        guard b.shape[b.rank - 2] == k else { throw node.failure("shapes \(a.shape) and \(b.shape) do not multiply") }
        var output: Tensor
        if b.rank == 2 && cache.weightIsConstant && !vectorB {
            let packed = cache.weights(kind: "onnx-matmul", sources: [b]) {
                PackedWeights.Payload(matrix: PackedMatrix(b.detached().permuted([1, 0])), bias: nil)
            }
            if let residual {
                precondition(!vectorA && activation == .none, "ONNXOperators.matmul: a residual is joined to a matrix product without activation")
                return Tensor.linear(a, packedWeight: packed.matrix, bias: bias, adding: residual)
            }
            output = Tensor.linear(a, packedWeight: packed.matrix, bias: bias, activation: activation)
            if vectorA { output = output.reshaped(Array(output.shape.dropFirst(output.rank - 1))) }
            return output
        }
        _ = try ONNXBroadcast.shape([Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2))], node: node)
        output = Tensor.matmul(a, b)
        if vectorA { output = output.squeezed(axis: output.rank - 2) }
        if vectorB { output = output.squeezed(axis: output.rank - 1) }
        if let bias { output = output + bias }
        if let residual { output = output + residual }
        return activated(output, activation)
    }

    /// `activation` applied to `x` as its own pass (where no epilogue took it), recording like any op.
    static func activated(_ x: Tensor, _ activation: FusedActivation) -> Tensor {
        switch activation {
        case .none: x
        case .relu: x.relu()
        case .silu: x.silu()
        case .gelu(let approximation): x.gelu(approximation: approximation)
        }
    }

    static func gemm(_ node: ONNXNode, _ inputs: [Tensor?], cache: ONNXStepCache) throws -> Tensor {
        let a = try floatInput(inputs, 0, node), b = try floatInput(inputs, 1, node)
        let c = optionalInput(inputs, 2)
        guard a.rank == 2, b.rank == 2 else { throw node.failure("A \(a.shape) and B \(b.shape) must be matrices") }
        let transA = try node.int("transA", default: 0) != 0, transB = try node.int("transB", default: 0) != 0
        let alpha = try node.float("alpha", default: 1), beta = try node.float("beta", default: 1)
        let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (kb, n) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        guard k == kb else { throw node.failure("A \(a.shape) and B \(b.shape) do not multiply (transA \(transA), transB \(transB))") }
        if let c {
            guard c.dtype == .float32, try ONNXBroadcast.shape([c.shape, [m, n]], node: node) == [m, n] else {
                throw node.failure("C \(c.shape) does not broadcast to [\(m), \(n)]")
            }
        }
        let vectorBias = c.map { $0.count == n && ($0.shape == [n] || $0.shape == [1, n]) } ?? true
        if cache.weightIsConstant && !transA && alpha == 1 && beta == 1 && vectorBias {
            let packed = cache.weights(kind: transB ? "onnx-gemm-t" : "onnx-gemm", sources: [b]) {
                PackedWeights.Payload(matrix: PackedMatrix(transB ? b.detached() : b.detached().permuted([1, 0])), bias: nil)
            }
            return Tensor.linear(a, packedWeight: packed.matrix, bias: c?.reshaped([n]))
        }
        var output = Tensor.matmul(a, b, transposeA: transA, transposeB: transB)
        if alpha != 1 { output = output * alpha }
        if let c { output = output + (beta == 1 ? c : c * beta) }
        return output
    }

    // MARK: - Softmax, reductions

    static func softmax(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try floatInput(inputs, 0, node)
        let axis = try axis(try node.int("axis", default: -1), rank: Swift.max(x.rank, 1), node)
        // The specification's value for a row of −inf logits: NaN (0/0), as ONNX Runtime computes it.
        let result = x.softmax(axis: axis, fullyMaskedRow: .nan)
        return node.operatorType == "LogSoftmax" ? result.map { Foundation.log($0) } : result
    }

    static func reduce(_ node: ONNXNode, _ inputs: [Tensor?], opset: Int64) throws -> Tensor {
        let x = try input(inputs, 0, node)
        let keep = try node.int("keepdims", default: 1) != 0
        var axes = try axesArgument(node, inputs, index: 1) ?? []
        if axes.isEmpty {
            if try node.int("noop_with_empty_axes", default: 0) != 0 { return x }
            axes = Array(0..<x.rank)
        }
        axes = try Array(Set(axes.map { try axis($0, rank: x.rank, node) })).sorted()
        let float = x.dtype == .float32 ? x : x.to(.float32)
        let result: Tensor
        switch node.operatorType {
        case "ReduceMean": result = float.mean(axes: axes, keepingDimensions: keep)
        case "ReduceSum": result = float.sum(axes: axes, keepingDimensions: keep)
        case "ReduceMax", "ReduceMin":
            guard axes.allSatisfy({ x.shape[$0] > 0 }) else { throw node.failure("cannot reduce an empty axis of \(x.shape)") }
            result = node.operatorType == "ReduceMax" ? float.max(axes: axes, keepingDimensions: keep)
                                                      : (float * -1).max(axes: axes, keepingDimensions: keep) * -1
        default: throw node.failure("unsupported reduction")
        }
        return x.dtype == .float32 ? result : result.to(x.dtype)
    }

    static func argmax(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try floatInput(inputs, 0, node)
        let axis = try axis(try node.int("axis", default: 0), rank: x.rank, node)
        guard x.shape[axis] > 0 else { throw node.failure("axis \(axis) of \(x.shape) is empty") }
        guard try node.int("select_last_index", default: 0) == 0 else { throw node.failure("select_last_index is not supported") }
        return x.argmax(axis: axis, keepingDimensions: try node.int("keepdims", default: 1) != 0)
    }

    // MARK: - Pooling

    static func pool(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        var x = try floatInput(inputs, 0, node)
        guard x.rank == 4 else { throw node.failure("only 2-D pooling is supported (input \(x.shape))") }
        guard let kernelShape = try node.ints("kernel_shape"), kernelShape.count == 2, kernelShape.allSatisfy({ $0 > 0 }) else {
            throw node.failure("needs a 2-D kernel_shape")
        }
        let kernel = (kernelShape[0], kernelShape[1])
        let strideValues = try node.ints("strides") ?? [1, 1], dilationValues = try node.ints("dilations") ?? [1, 1]
        guard strideValues.count == 2, dilationValues.count == 2, (strideValues + dilationValues).allSatisfy({ $0 > 0 }) else {
            throw node.failure("strides and dilations must be 2 positive values")
        }
        let strides = (strideValues[0], strideValues[1]), dilations = (dilationValues[0], dilationValues[1])
        let ceilMode = try node.int("ceil_mode", default: 0) != 0
        var pads = try explicitPads(node, oneDimensional: false, input: (x.shape[2], x.shape[3]), kernel: kernel,
                                    strides: strides, dilations: dilations)
        let isMax = node.operatorType == "MaxPool"
        let includePad = try node.int("count_include_pad", default: 0) != 0
        if node.outputs.count > 1 && !node.outputs[1].isEmpty { throw node.failure("the Indices output is not supported") }
        if pads.top != pads.bottom || pads.left != pads.right || pads.top * 2 > kernel.0 || pads.left * 2 > kernel.1 {
            guard isMax || includePad else { throw node.failure("asymmetric or large pads \(pads) need count_include_pad=1") }
            x = try padded(x, before: [0, 0, pads.top, pads.left], after: [0, 0, pads.bottom, pads.right], value: isMax ? -.infinity : 0, node)
            pads = (0, 0, 0, 0)
        }
        guard isMax || dilations == (1, 1) else { throw node.failure("dilated average pooling is not supported") }
        let height = x.shape[2] + 2 * pads.top - dilations.0 * (kernel.0 - 1) - 1
        let width = x.shape[3] + 2 * pads.left - dilations.1 * (kernel.1 - 1) - 1
        guard height >= 0, width >= 0 else { throw node.failure("input \(x.shape) is too small for kernel \(kernelShape)") }
        if isMax {
            return x.maxPool2d(kernelSize: kernel, stride: strides, padding: (pads.top, pads.left), dilation: dilations, ceilMode: ceilMode)
        }
        return x.avgPool2d(kernelSize: kernel, stride: strides, padding: (pads.top, pads.left), ceilMode: ceilMode, countIncludePad: includePad)
    }

    static func globalPool(_ node: ONNXNode, _ inputs: [Tensor?]) throws -> Tensor {
        let x = try floatInput(inputs, 0, node)
        guard x.rank >= 3 else { throw node.failure("input \(x.shape) needs rank ≥ 3") }
        let axes = Array(2..<x.rank)
        if node.operatorType == "GlobalAveragePool" { return x.mean(axes: axes, keepingDimensions: true) }
        guard x.count > 0 else { throw node.failure("empty input") }
        return x.max(axes: axes, keepingDimensions: true)
    }
}
