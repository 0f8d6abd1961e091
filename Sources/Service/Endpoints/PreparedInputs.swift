import Models
import Tensors

/// A request's inputs, ready for a worker: converted to the dtypes the model takes, checked against
/// its input specifications, with the batch size and (text models) the attention mask.
public struct PreparedInputs: Sendable {
    public var tensors: [String: Tensor]
    /// Batch rows (every input's first dimension).
    public var rows: Int
    /// The attention mask of a text model's inputs, for token pooling.
    public var attentionMask: Tensor?
    /// Texts: the tokens each input became and whether it was truncated.
    public var text: TextInputReport?

    public init(tensors: [String: Tensor], rows: Int, attentionMask: Tensor?, text: TextInputReport? = nil) {
        self.tensors = tensors
        self.rows = rows
        self.attentionMask = attentionMask
        self.text = text
    }
}
