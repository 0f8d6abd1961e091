import Tensors

// Attention rollout on a model: one forward pass without recording, attention hooks on every
// self-attention module, then `AttentionRollout` on what they reported.

extension Module {
    /// Attention rollout (`AttentionRollout`) of this model on the inputs `forward` runs it on:
    /// one map, `attention_rollout`, float32 — [N, 1, h, w] on `request.gradCAM.tokenGrid` (the
    /// class token's row over the patches; normalized and upsampled to `imageSize` as
    /// `request.gradCAM` asks), or [N, T] over every token without a grid (text; zero where
    /// `tokens` leaves a token out).
    ///
    /// - Parameters:
    ///   - tokens: per sample, the indices of its real tokens (the attention mask's ones), nil for all.
    ///   - imageSize: the (height, width) of the image input, for upsampling.
    /// - Throws: `AttributionError.unsupportedModel` when no self-attention reported (a model
    ///   without attention), its layers are not self-attention over one sequence, or its tokens do
    ///   not fit the grid; what `forward` throws.
    public final func attentionRollout(_ request: Attribution, tokens: [[Int]]? = nil, imageSize: (Int, Int)? = nil,
                                       forward: () throws -> Void) throws -> CapturedFeatures {
        precondition(request.method == .attentionRollout, "attentionRollout: the request's method is \(request.method)")
        // Heads fused as each layer reports: one [N, T, T] matrix per layer is kept, not [N, heads, T, T].
        var shapes: [(name: String, shape: [Int])] = []
        let captured = try captureAttention(transform: { probabilities in
            shapes.append(("", probabilities.shape))
            return AttentionRollout.fuseHeads(probabilities, request.rollout.headFusion)
        }, during: forward)
        for index in shapes.indices { shapes[index].name = captured[index].name }
        guard let first = shapes.first else {
            throw AttributionError.unsupportedModel(.attentionRollout, reason: "needs a transformer: no self-attention layer of this model ran")
        }
        let shape = first.shape
        guard shape.count == 4, shape[2] == shape[3], shapes.allSatisfy({ $0.shape == shape }) else {
            let listed = shapes.map { "\($0.name) \($0.shape)" }.joined(separator: ", ")
            throw AttributionError.unsupportedModel(.attentionRollout, reason: "needs self-attention over one sequence in every layer, got \(listed)")
        }
        if let grid = request.gradCAM.tokenGrid, !GradCAM.isSpatial([shape[0], shape[2], 1], grid: grid) {
            throw AttributionError.unsupportedModel(.attentionRollout, reason: "found \(shape[2]) tokens in '\(first.name)', the \(grid.height) × \(grid.width) "
                                                    + "patch grid after \(grid.prefixTokens) class/register tokens needs \(grid.prefixTokens + grid.height * grid.width)")
        }
        let rows = AttentionRollout.classTokenRows(fused: captured.map(\.probabilities), tokens: tokens, discardRatio: request.rollout.discardRatio)
        var result = CapturedFeatures()
        result.record(Attribution.attentionRolloutKey,
                      AttentionRollout.map(classTokenRows: rows, tokens: tokens, options: request.gradCAM, inputSize: imageSize))
        return result
    }
}
