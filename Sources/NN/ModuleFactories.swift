// Substitutable components: blocks take factories instead of fixed layer types, the way
// torchvision blocks take `norm_layer=` and `activation_layer=`. Pass `{ _ in Identity() }` or
// `{ Identity() }` for "none" so that the slot keeps its name in the tree.

/// Builds a normalization layer for `featureCount` channels, e.g. `{ BatchNorm2d(featureCount: $0) }`.
public typealias NormLayerFactory = (_ featureCount: Int) -> UnaryModule

/// Builds an activation layer, e.g. `{ ReLU(inplace: true) }` or `{ GELU() }`.
public typealias ActivationFactory = () -> UnaryModule
