// Softmax with an optional additive mask. Over the last axis the mask is added inside the row
// kernel (never materialized: a [B, 1, 1, T] padding mask is one row reused for every head and
// query); over another axis the strided kernel runs on (logits + mask). Naive twin: `Reference.softmax`.

extension Tensor {
    /// Numerically stable softmax along `axis`. `additiveMask` (broadcast to this shape) is added
    /// to the logits first, the way attention masks are applied (−∞ or a large negative value
    /// where masked). A row that is entirely −∞ gives `fullyMaskedRow`: by default zeros, not NaN (as
    /// PyTorch's `scaled_dot_product_attention`; plain `torch.softmax` and ONNX's Softmax give NaN there).
    public func softmax(axis: Int = -1, additiveMask: Tensor? = nil, fullyMaskedRow: Float = 0) -> Tensor {
        precondition(dtype == .float32, "softmax: float32 expected, got \(dtype) \(shape)")
        let axis = normalizedAxis(axis)
        if let additiveMask {
            precondition(additiveMask.dtype == .float32, "softmax: float32 mask expected, got \(additiveMask.dtype) \(additiveMask.shape)")
            precondition(additiveMask.rank <= rank && broadcastShape(additiveMask.shape, shape) == shape,
                         "softmax: mask \(additiveMask.shape) does not broadcast to logits \(shape)")
        }
        var out = Tensor(uninitializedShape: shape)
        if axis == rank - 1 {
            Tensor.softmaxLastAxis(out: &out, logits: self, scale: 1, additiveMask: additiveMask, fullyMaskedRow: fullyMaskedRow)
        } else {
            let logits = additiveMask.map { (self + $0).detached() } ?? self
            let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
            logits.withFloats { x in
                guard let x = x.baseAddress else { return }
                softmaxStridedKernel(out: out.mutableFloatPointer, x: x, outer: outer, reduced: shape[axis], inner: inner,
                                     fullyMaskedRow: fullyMaskedRow)
            }
        }
        let y = out.detached()
        let inputs = additiveMask.map { [self, $0] } ?? [self]
        return out.recordingGradient("softmax", inputs: inputs) { g in
            // d logits = y ⊙ (g − Σ(g ⊙ y)); the mask was added, so it gets the same, summed to its shape.
            let dot = (g * y).sum(axes: [axis], keepingDimensions: true)
            let gradient = y * (g - dot)
            return additiveMask.map { [gradient, reduceBroadcast(gradient, to: $0.shape)] } ?? [gradient]
        }
    }

    /// out = softmax(logits·scale + mask) over the last axis, through `softmaxRowsKernel`.
    /// `out` must be uniquely owned and may share storage with `logits` (in place).
    static func softmaxLastAxis(out: inout Tensor, logits: Tensor, scale: Float, additiveMask: Tensor?, fullyMaskedRow: Float = 0) {
        let T = logits.shape.last ?? 1
        let rows = logits.count / Swift.max(T, 1)
        let outPointer = out.mutableFloatPointer
        guard let mask = additiveMask else {
            logits.withFloats { x in
                softmaxRowsKernel(out: outPointer, x: x.baseAddress!, rows: rows, columns: T, scale: scale, fullyMaskedRow: fullyMaskedRow)
            }
            return
        }
        // One offset per logits row into the mask (0 stride along broadcast axes).
        let maskStrides = broadcastStrides(mask.shape, to: logits.shape)
        if T > 1 && maskStrides.last != 1 {
            // A mask constant along the last axis shifts every logit of a row equally: no effect
            // on softmax except through −inf/NaN, so apply it the plain way.
            let combined = ((logits * scale) + mask).detached()
            combined.withFloats { x in
                softmaxRowsKernel(out: outPointer, x: x.baseAddress!, rows: rows, columns: T, fullyMaskedRow: fullyMaskedRow)
            }
            return
        }
        var offsets = [Int](repeating: 0, count: rows)
        var odometer = Odometer(shape: Array(logits.shape.dropLast()), strides: Array(maskStrides.dropLast()), start: 0)
        for r in 0..<rows {
            offsets[r] = odometer.offset
            odometer.advance()
        }
        logits.withFloats { x in
            mask.withFloats { m in
                offsets.withUnsafeBufferPointer { o in
                    softmaxRowsKernel(out: outPointer, x: x.baseAddress!, rows: rows, columns: T, scale: scale,
                                      mask: m.baseAddress!, maskOffsets: o.baseAddress!, fullyMaskedRow: fullyMaskedRow)
                }
            }
        }
    }
}
