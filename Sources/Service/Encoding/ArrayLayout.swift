/// How a tensor's elements are laid out as a JSON array.
public enum ArrayLayout: String, Sendable, CaseIterable {
    /// One flat array in row-major order; the shape is sent beside it (the V2 protocol's form).
    case flat
    /// Arrays nested to the tensor's rank (`[[1,2],[3,4]]`), what `numpy.array(data)` reads directly.
    case nested
}
