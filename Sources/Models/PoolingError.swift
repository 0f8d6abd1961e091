/// Why token embeddings could not be pooled into sentence embeddings.
public enum PoolingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Hidden states must be float32 [batch, sequence, hidden] and the mask [batch, sequence].
    case shapeMismatch(hiddenStates: [Int], attentionMask: [Int])
    /// CLS pooling needs at least one token per sequence.
    case emptySequence

    public var description: String {
        switch self {
        case .shapeMismatch(let hiddenStates, let attentionMask):
            return "cannot pool hidden states of shape \(hiddenStates) with an attention mask of shape \(attentionMask); "
                + "expected [batch, sequence, hidden] and [batch, sequence]"
        case .emptySequence:
            return "cannot pool a sequence of length 0"
        }
    }
}
