import Tensors

/// Texts encoded for a BERT-family model: int64 tensors [batch, sequence] ready for its inputs
/// (`input_ids`, `attention_mask`, `token_type_ids`), plus the token strings.
public struct TokenizedBatch: Sendable {
    /// Token ids, padded with the padding token's id; int64 [batch, sequence].
    public var inputIds: Tensor
    /// 1 for real tokens, 0 for padding; int64 [batch, sequence].
    public var attentionMask: Tensor
    /// 0 for the first segment (with [CLS] and its [SEP]), 1 for a pair's second segment; int64 [batch, sequence].
    public var tokenTypeIds: Tensor
    /// Each text's tokens (special tokens included, padding excluded).
    public var tokens: [[String]]
    /// Each text's token count before truncation (special tokens included).
    public var untruncatedLengths: [Int]

    public var batchSize: Int { inputIds.shape[0] }
    public var sequenceLength: Int { inputIds.shape[1] }
    /// Each text's number of real tokens.
    public var lengths: [Int] { tokens.map(\.count) }
    /// The model inputs this batch fills for `model` (`input_ids`, `attention_mask`, and
    /// `token_type_ids` where the model takes them — CLIP does not).
    public func inputs(for model: LoadedModel) -> [String: Tensor] {
        let all = ["input_ids": inputIds, "attention_mask": attentionMask, "token_type_ids": tokenTypeIds]
        let taken = Set(model.inputs.map(\.name))
        return all.filter { taken.contains($0.key) }
    }

    /// Whether each text lost tokens to truncation.
    public var truncated: [Bool] { zip(lengths, untruncatedLengths).map { $0 < $1 } }
}
