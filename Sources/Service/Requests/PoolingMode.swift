/// How a captured feature map is reduced before it is returned (`pool` in a features request).
public enum PoolingMode: String, Sendable, CaseIterable {
    /// Unchanged.
    case none
    /// The mean over spatial positions ([N,C,H,W] → [N,C]) or over tokens ([N,S,H] → [N,H],
    /// padding excluded by the attention mask).
    case mean
    /// The maximum over spatial positions or tokens (padding excluded).
    case max
    /// The first token ([N,S,H] → [N,H]), BERT's [CLS] and ViT's class token.
    case cls
}
