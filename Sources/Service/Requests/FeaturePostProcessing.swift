import Tensors

/// What a features request asks to be done to each captured tensor before it is encoded, in
/// this order: pool, flatten, L2-normalize, convert to the output dtype.
///
/// - pool `mean`/`max`: rank 4 [N,C,H,W] → [N,C] over the H·W positions; rank 3 [N,S,H] → [N,H]
///   over the S tokens, where an attention mask [N,S] (text models) excludes padding (a row with
///   no real token gives zeros); `cls`: rank 3 → token 0. Ranks 1–2 are already one vector per
///   sample and pass unchanged.
/// - flatten: [N, …] → [N, product of the rest].
/// - normalize: each sample's values divided by their L2 norm (max(‖x‖, 1e-12), PyTorch's
///   `F.normalize`), over all non-batch axes.
public struct FeaturePostProcessing: Sendable, Equatable {
    public var pool: PoolingMode
    public var flatten: Bool
    public var normalize: Bool
    public var dtype: OutputDType

    public init(pool: PoolingMode = .none, flatten: Bool = false, normalize: Bool = false, dtype: OutputDType = .float32) {
        self.pool = pool
        self.flatten = flatten
        self.normalize = normalize
        self.dtype = dtype
    }

    public init(_ request: FeaturesRequest) {
        self.init(pool: request.pool, flatten: request.flatten, normalize: request.normalize, dtype: request.dtype)
    }

    /// Whether nothing is to be done to float32 features.
    public var isIdentity: Bool { pool == .none && !flatten && !normalize && dtype == .float32 }

    /// The shape `apply` produces for an input of `shape`, computed before running (for size checks
    /// and to reject `cls` on feature maps early).
    public func outputShape(for shape: [Int], layer: String) throws(RequestError) -> [Int] {
        var result = shape
        switch (pool, shape.count) {
        case (.none, _), (_, 0...2): break
        case (.mean, 3), (.max, 3), (.cls, 3): result = [shape[0], shape[2]]
        case (.mean, 4), (.max, 4): result = [shape[0], shape[1]]
        case (.cls, _):
            throw RequestError(field: "pool", "cls pooling needs [batch, tokens, hidden] features; layer '\(layer)' has shape \(shape)")
        default:
            throw RequestError(field: "pool", "\(pool.rawValue) pooling needs [batch, tokens, hidden] or [batch, channels, height, width] features; layer '\(layer)' has shape \(shape)")
        }
        if flatten && result.count > 2 { result = [result[0], result[1...].reduce(1, *)] }
        return result
    }

    /// The post-processed copy of float32 `features` captured as `layer`. `attentionMask` [N,S]
    /// (any dtype, nonzero = real token) applies to token pooling of rank-3 features when its
    /// shape matches their first two axes.
    public func apply(_ features: Tensor, layer: String, attentionMask: Tensor? = nil) throws(RequestError) -> Tensor {
        let shape = features.shape
        let outputShape = try outputShape(for: shape, layer: layer)
        var result = features.to(.float32)
        if pool != .none && shape.count >= 3 {
            var pooled = Tensor(uninitializedShape: [shape[0], shape.count == 3 ? shape[2] : shape[1]])
            result.withFloats { input in
                pooled.withMutableFloats { output in
                    guard let x = input.baseAddress, let out = output.baseAddress else { return }
                    if shape.count == 4 {
                        let rows = shape[0] * shape[1], positions = shape[2] * shape[3]
                        if pool == .mean { meanPoolRows(out, x, rows: rows, width: positions) } else { maxPoolRows(out, x, rows: rows, width: positions) }
                    } else {
                        let batch = shape[0], tokens = shape[1], hidden = shape[2]
                        if pool == .cls {
                            clsToken(out, x, batch: batch, tokens: tokens, hidden: hidden)
                            return
                        }
                        var mask = [Float](repeating: 1, count: batch * tokens)
                        if let attentionMask, attentionMask.shape == [batch, tokens] { mask = attentionMask.toArray() }
                        mask.withUnsafeBufferPointer { mask in
                            if pool == .mean {
                                maskedMeanPoolTokens(out, x, mask.baseAddress!, batch: batch, tokens: tokens, hidden: hidden)
                            } else {
                                maskedMaxPoolTokens(out, x, mask.baseAddress!, batch: batch, tokens: tokens, hidden: hidden)
                            }
                        }
                    }
                }
            }
            result = pooled
        }
        if result.shape != outputShape { result = result.reshaped(outputShape) }
        if normalize && result.count > 0 {
            let rows = result.shape.first ?? 1
            let width = result.count / Swift.max(rows, 1)
            result = result.detachedCopy()
            result.withMutableFloats { values in l2NormalizeRows(values.baseAddress!, rows: rows, width: width) }
        }
        return result.to(dtype.dtype)
    }
}

// MARK: - Kernels
// Legend: N batch, C channels, P = H·W positions, S tokens, H hidden.

/// out[r] = mean of x[r, 0..<width] — [rows, width] → [rows] (spatial mean of [N·C, P]).
func meanPoolRows(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, width: Int) {
    for row in 0..<rows {
        let values = x + row * width
        // Four accumulators: independent adds pipeline (and vectorize) instead of one serial chain.
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
        var index = 0
        while index + 4 <= width {
            s0 += values[index]; s1 += values[index + 1]; s2 += values[index + 2]; s3 += values[index + 3]
            index += 4
        }
        while index < width { s0 += values[index]; index += 1 }
        out[row] = width == 0 ? 0 : ((s0 + s1) + (s2 + s3)) / Float(width)
    }
}

/// out[r] = max of x[r, 0..<width] (−∞ for width 0; NaN propagates).
func maxPoolRows(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, width: Int) {
    for row in 0..<rows {
        let values = x + row * width
        var best = -Float.infinity
        for index in 0..<width {
            let value = values[index]
            if value > best || value.isNaN { best = value }
            if best.isNaN { break }
        }
        out[row] = best
    }
}

/// out[n, h] = x[n, 0, h] — [N,S,H] → [N,H].
func clsToken(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, batch: Int, tokens: Int, hidden: Int) {
    for sample in 0..<batch { (out + sample * hidden).update(from: x + sample * tokens * hidden, count: hidden) }
}

/// out[n, h] = Σ_s mask[n,s]·x[n,s,h] / max(Σ_s mask[n,s], 1e-9) — sentence-transformers' mean
/// pooling: padding (mask 0) contributes nothing; an all-padding row gives zeros.
func maskedMeanPoolTokens(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ mask: UnsafePointer<Float>,
                          batch: Int, tokens: Int, hidden: Int) {
    for sample in 0..<batch {
        let row = out + sample * hidden
        row.update(repeating: 0, count: hidden)
        var weightSum: Float = 0
        for token in 0..<tokens {
            let weight = mask[sample * tokens + token]
            guard weight != 0 else { continue }
            weightSum += weight
            let values = x + (sample * tokens + token) * hidden
            for index in 0..<hidden { row[index] += values[index] * weight }
        }
        let denominator = Swift.max(weightSum, 1e-9)
        for index in 0..<hidden { row[index] /= denominator }
    }
}

/// out[n, h] = max over tokens with mask ≠ 0 of x[n,s,h]; a row with no real token gives zeros.
func maskedMaxPoolTokens(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ mask: UnsafePointer<Float>,
                         batch: Int, tokens: Int, hidden: Int) {
    for sample in 0..<batch {
        let row = out + sample * hidden
        row.update(repeating: -.infinity, count: hidden)
        var any = false
        for token in 0..<tokens where mask[sample * tokens + token] != 0 {
            any = true
            let values = x + (sample * tokens + token) * hidden
            for index in 0..<hidden where values[index] > row[index] || values[index].isNaN { row[index] = values[index] }
        }
        if !any { row.update(repeating: 0, count: hidden) }
    }
}

/// Each row of [rows, width] divided by max(‖row‖₂, 1e-12), in place.
func l2NormalizeRows(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
    for row in 0..<rows {
        let values = x + row * width
        var squares: Float = 0
        for index in 0..<width { squares += values[index] * values[index] }
        let scale = 1 / Swift.max(squares.squareRoot(), 1e-12)
        for index in 0..<width { values[index] *= scale }
    }
}
