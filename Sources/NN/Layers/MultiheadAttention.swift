import Foundation
import Tensors

// Mirrors torch.nn.MultiheadAttention (torch/nn/modules/activation.py) and
// F.multi_head_attention_forward, without add_bias_kv / add_zero_attn.

/// Multi-head scaled dot-product attention (PyTorch's `nn.MultiheadAttention`), with PyTorch's
/// parameter layout: a packed `in_proj_weight` [3E, E] and `in_proj_bias` [3E] (or separate
/// `q_proj_weight`/`k_proj_weight`/`v_proj_weight` when the key/value dimensions differ from E)
/// and an `out_proj` linear layer.
///
/// Sequences are [L, N, E] (or [N, L, E] with `batchFirst`), or unbatched [L, E]. Calls return the
/// output and, when `needWeights`, the attention weights (averaged over heads unless
/// `averageAttentionWeights` is false). Hooks see `[query, key, value]` and the output tensor;
/// `out_proj` is applied functionally, as PyTorch does, so it never runs as a module.
///
/// One difference from PyTorch: a query whose keys are all masked gets zero weights (and a zero
/// attention result) instead of NaN.
///
/// With an attention hook registered (`AttentionReporting`), every call takes the general path and
/// reports its per-head weights [N, heads, L, S], whatever `needWeights` asks for.
open class MultiheadAttention: Module, AttentionReporting {
    public let embedDimension: Int
    public let headCount: Int
    public let keyDimension: Int
    public let valueDimension: Int
    public let dropoutProbability: Double
    public let batchFirst: Bool

    public let inProjWeight: Parameter?
    public let qProjWeight: Parameter?
    public let kProjWeight: Parameter?
    public let vProjWeight: Parameter?
    public let inProjBias: Parameter?
    public let outProj: NonDynamicallyQuantizableLinear
    /// The packed input projection of the inference fast path (shared with replicas).
    private var packedInProjection: PackedWeights?

    public init(embedDimension: Int, headCount: Int, dropout: Double = 0, bias: Bool = true,
                keyDimension: Int? = nil, valueDimension: Int? = nil, batchFirst: Bool = false) {
        precondition(headCount > 0 && embedDimension % headCount == 0,
                     "MultiheadAttention: embed_dim \(embedDimension) must be divisible by num_heads \(headCount)")
        precondition(dropout >= 0 && dropout <= 1, "MultiheadAttention: dropout \(dropout) must be in [0, 1]")
        let keyDimension = keyDimension ?? embedDimension, valueDimension = valueDimension ?? embedDimension
        self.embedDimension = embedDimension
        self.headCount = headCount
        self.keyDimension = keyDimension
        self.valueDimension = valueDimension
        self.dropoutProbability = dropout
        self.batchFirst = batchFirst
        let packed = keyDimension == embedDimension && valueDimension == embedDimension
        self.inProjWeight = packed ? Parameter(Tensor(zeros: [3 * embedDimension, embedDimension])) : nil
        self.qProjWeight = packed ? nil : Parameter(Tensor(zeros: [embedDimension, embedDimension]))
        self.kProjWeight = packed ? nil : Parameter(Tensor(zeros: [embedDimension, keyDimension]))
        self.vProjWeight = packed ? nil : Parameter(Tensor(zeros: [embedDimension, valueDimension]))
        self.inProjBias = bias ? Parameter(Tensor(zeros: [3 * embedDimension])) : nil
        self.outProj = NonDynamicallyQuantizableLinear(inFeatures: embedDimension, outFeatures: embedDimension, bias: bias)
        super.init()
        resetParameters()
    }

    public var headDimension: Int { embedDimension / headCount }

    /// Xavier-uniform input projections, zero input and output biases (PyTorch's
    /// `_reset_parameters`; `out_proj.weight` keeps its Linear initialization).
    open override func resetParameters() {
        for weight in [inProjWeight, qProjWeight, kProjWeight, vProjWeight].compactMap({ $0 }) {
            Initializers.xavierUniform(weight)
        }
        if let inProjBias { Initializers.zeros(inProjBias) }
        if let bias = outProj.bias { Initializers.zeros(bias) }
    }

    // MARK: - Calling

    /// Attention of `query` over `key`/`value`.
    /// - Parameters:
    ///   - keyPaddingMask: [N, S] (or [S] unbatched); bool/uint8 `true` = ignore that key, or a
    ///     float mask added to the scores.
    ///   - attentionMask: [L, S] or [N·heads, L, S]; bool `true` = not allowed, or float added.
    /// - Returns: the output shaped like `query` (last dimension E), and the weights
    ///   [N, L, S] (averaged) or [N, heads, L, S] when `needWeights`.
    public final func callAsFunction(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: Tensor? = nil,
                                     needWeights: Bool = true, attentionMask: Tensor? = nil,
                                     averageAttentionWeights: Bool = true) throws -> (output: Tensor, weights: Tensor?) {
        if canSkipHooks {
            return try forward(query: query, key: key, value: value, keyPaddingMask: keyPaddingMask, needWeights: needWeights,
                               attentionMask: attentionMask, averageAttentionWeights: averageAttentionWeights)
        }
        return try callWithHooks(inputs: [query, key, value], primaryOutput: { $0.output },
                                 replacingPrimaryOutput: { ($1, $0.weights) }) { inputs in
            try self.forward(query: inputs[0], key: inputs[1], value: inputs[2], keyPaddingMask: keyPaddingMask,
                             needWeights: needWeights, attentionMask: attentionMask, averageAttentionWeights: averageAttentionWeights)
        }
    }

    /// The computation; call the module instead so hooks run.
    open func forward(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: Tensor?, needWeights: Bool,
                      attentionMask: Tensor?, averageAttentionWeights: Bool) throws -> (output: Tensor, weights: Tensor?) {
        if let output = try fastSelfAttention(query: query, key: key, value: value, keyPaddingMask: keyPaddingMask,
                                              needWeights: needWeights, attentionMask: attentionMask) {
            return (output, nil)
        }
        let unbatched = query.rank == 2
        let expectedRank = unbatched ? 2 : 3
        guard query.rank == 2 || query.rank == 3, key.rank == expectedRank, value.rank == expectedRank else {
            throw invalidInput("query, key and value must all be 3-D (batched) or 2-D (unbatched), got \(query.shape), \(key.shape), \(value.shape)")
        }
        // To [N, L, E].
        func batchMajor(_ tensor: Tensor) throws -> Tensor {
            let x = try floatInput(tensor)
            if unbatched { return x.unsqueezed(axis: 0) }
            return batchFirst ? x : x.transposed(0, 1)
        }
        let q = try batchMajor(query), k = try batchMajor(key), v = try batchMajor(value)
        let (batch, targetLength, sourceLength) = (q.shape[0], q.shape[1], k.shape[1])
        guard q.shape[2] == embedDimension else {
            throw invalidInput("expected query embedding dimension \(embedDimension), got \(query.shape)")
        }
        guard k.shape[0] == batch, v.shape[0] == batch, v.shape[1] == sourceLength else {
            throw invalidInput("query \(query.shape), key \(key.shape) and value \(value.shape) disagree on batch or source length")
        }
        guard k.shape[2] == keyDimension, v.shape[2] == valueDimension else {
            throw invalidInput("expected key dimension \(keyDimension) and value dimension \(valueDimension), got \(key.shape) and \(value.shape)")
        }
        let mask = try combinedMask(keyPaddingMask: keyPaddingMask, attentionMask: attentionMask, unbatched: unbatched,
                                    batch: batch, targetLength: targetLength, sourceLength: sourceLength)

        // Input projections.
        let e = embedDimension
        let biases = inProjBias.map { $0.float32Value.split(sizes: [e, e, e], axis: 0) }
        let weights: [Tensor]
        if let inProjWeight {
            weights = inProjWeight.float32Value.split(sizes: [e, e, e], axis: 0)
        } else {
            weights = [qProjWeight!.float32Value, kProjWeight!.float32Value, vProjWeight!.float32Value]
        }
        // [N, L, E] → [N, heads, L, D]
        func heads(_ x: Tensor, _ length: Int) -> Tensor {
            x.reshaped([batch, length, headCount, headDimension]).permuted([0, 2, 1, 3])
        }
        let scale = 1 / Float(headDimension).squareRoot()
        let qh = heads(Tensor.linear(q, weight: weights[0], bias: biases?[0]) * scale, targetLength)
        let kh = heads(Tensor.linear(k, weight: weights[1], bias: biases?[1]), sourceLength)
        let vh = heads(Tensor.linear(v, weight: weights[2], bias: biases?[2]), sourceLength)

        // Scores [N, heads, L, S] → weights → output.
        var attention = Tensor.matmul(qh, kh, transposeB: true).softmax(axis: -1, additiveMask: mask)
        if hasAttentionHooks { try reportAttention(attention) }
        if isTraining && dropoutProbability > 0 {
            attention = attention * dropoutMask(attention.shape)
        }
        let context = Tensor.matmul(attention, vh).permuted([0, 2, 1, 3]).reshaped([batch, targetLength, e])
        // Functional, as in PyTorch: `out_proj` is never called as a module, so hooks on it do not
        // fire and it is not a layer of its own (PyTorch's captures have no `...out_proj`).
        var output = Tensor.linear(context, weight: outProj.weight.float32Value, bias: outProj.bias?.float32Value)
        if unbatched {
            output = output.squeezed(axis: 0)
        } else if !batchFirst {
            output = output.transposed(0, 1)
        }
        guard needWeights else { return (output, nil) }
        var returnedWeights = averageAttentionWeights ? attention.mean(axes: [1]) : attention
        if unbatched { returnedWeights = returnedWeights.squeezed(axis: 0) }
        return (output, returnedWeights)
    }

    // MARK: - Inference fast path

    /// Batch-first self-attention without weights, dropout, autograd, an attention mask or an
    /// attention hook (PyTorch's own fast path covers the same case): one packed GEMM for q, k and
    /// v, attention read straight from that [N, L, 3E] buffer (no head permutes), one packed GEMM
    /// for `out_proj`. Nil when the call is not of that kind.
    private func fastSelfAttention(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: Tensor?, needWeights: Bool,
                                   attentionMask: Tensor?) throws -> Tensor? {
        guard batchFirst, !needWeights, attentionMask == nil, !(isTraining && dropoutProbability > 0), !hasAttentionHooks,
              let inProjWeight, query.rank == 3, query.shape.last == embedDimension, query.dtype.isFloatingPoint,
              key.storage === query.storage, key.byteOffset == query.byteOffset, key.shape == query.shape, key.dtype == query.dtype,
              value.storage === query.storage, value.byteOffset == query.byteOffset, value.shape == query.shape, value.dtype == query.dtype,
              !Tensor.shouldRecord([query, inProjWeight.value, outProj.weight.value] + (inProjBias.map { [$0.value] } ?? []))
        else { return nil }
        let (batch, length) = (query.shape[0], query.shape[1])
        var keyBias: Tensor?
        if let keyPaddingMask {
            guard keyPaddingMask.shape == [batch, length] else {
                throw invalidInput("key_padding_mask must be \([batch, length]), got \(keyPaddingMask.shape)")
            }
            keyBias = try additiveMask(keyPaddingMask, "key_padding_mask")
        }
        var sources = [inProjWeight.value]
        if let inProjBias { sources.append(inProjBias.value) }
        // The input projection computes in out_proj's precision: the module's linear layers share one.
        let precision = outProj.precision, kind = PackedWeights.linearKind("linear", precision: precision)
        let projection: PackedWeights
        if let packedInProjection, packedInProjection.isBuilt(from: sources, kind: kind) {
            projection = packedInProjection
        } else {
            projection = PackedWeightCache.shared.weights(kind: kind, sources: sources) {
                .linear(weight: inProjWeight.float32Value.detached(), bias: inProjBias?.float32Value.detached(), precision: precision)
            }
            packedInProjection = projection
        }
        let qkv = projection.linear(try floatInput(query), bias: projection.bias)
        let context = Tensor.multiHeadAttention(packedProjections: qkv, headCount: headCount, keyBias: keyBias)
        let output = outProj.inferenceWeights()
        return output.linear(context, bias: output.bias)
    }

    // MARK: - Masks

    /// Both masks as one additive float mask broadcastable to [N, heads, L, S], or nil.
    private func combinedMask(keyPaddingMask: Tensor?, attentionMask: Tensor?, unbatched: Bool,
                              batch: Int, targetLength: Int, sourceLength: Int) throws -> Tensor? {
        var combined: Tensor?
        if let attentionMask {
            let additive = try additiveMask(attentionMask, "attn_mask")
            switch attentionMask.shape {
            case [targetLength, sourceLength]:
                combined = additive.reshaped([1, 1, targetLength, sourceLength])
            case [batch * headCount, targetLength, sourceLength]:
                combined = additive.reshaped([batch, headCount, targetLength, sourceLength])
            default:
                throw invalidInput("attn_mask must be [\(targetLength), \(sourceLength)] or [\(batch * headCount), \(targetLength), \(sourceLength)], got \(attentionMask.shape)")
            }
        }
        if let keyPaddingMask {
            let expected = unbatched ? [sourceLength] : [batch, sourceLength]
            guard keyPaddingMask.shape == expected else {
                throw invalidInput("key_padding_mask must be \(expected), got \(keyPaddingMask.shape)")
            }
            let padding = try additiveMask(keyPaddingMask, "key_padding_mask").reshaped([batch, 1, 1, sourceLength])
            combined = combined.map { $0 + padding } ?? padding
        }
        return combined
    }

    /// Boolean masks become 0 / −∞ (true = masked); float masks are added as they are.
    private func additiveMask(_ mask: Tensor, _ name: String) throws -> Tensor {
        switch mask.dtype {
        case .bool, .uint8:
            return mask.to(.float32).map { $0 != 0 ? -Float.infinity : 0 }
        case .float32, .float16, .bfloat16:
            return mask.to(.float32)
        default:
            throw invalidInput("\(name) must be bool or floating point, got \(mask.dtype)")
        }
    }

    private func dropoutMask(_ shape: [Int]) -> Tensor {
        if dropoutProbability >= 1 { return Tensor(zeros: shape) }
        let keep = Float(1 - dropoutProbability), scale = 1 / keep
        return RandomState.withGenerator { generator in
            Tensor(shape: shape, scalars: (0..<Tensor.elementCount(shape)).map { _ in generator.nextUnitFloat() < keep ? scale : 0 })
        }
    }
}
