import Tensors

/// The element type of returned features (`dtype` in a features request).
public enum OutputDType: String, Sendable, CaseIterable {
    case float32
    case float16

    public var dtype: DType {
        switch self {
        case .float32: .float32
        case .float16: .float16
        }
    }
}
