import Tensors

/// A reference to a tensor a module owns (`Parameter`, `Buffer`): the box keeps its identity while
/// its value is replaced, so loading, dtype moves and re-initialization never replace a property.
public protocol TensorBox: AnyObject {
    /// The tensor; assigning replaces the values in place as far as the module is concerned.
    var value: Tensor { get set }
}

extension TensorBox {
    public var shape: [Int] { value.shape }
    public var dtype: DType { value.dtype }
}
