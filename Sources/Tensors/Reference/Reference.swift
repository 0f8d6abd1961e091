/// The naive twins of the fast kernels: each op written as the plainest loop that follows its
/// definition (PyTorch's semantics), with Double accumulators where sums are involved.
///
/// These are what the fast kernels are tested against (and what a reader checks the semantics
/// in). They do not record autograd nodes and are not meant to be fast.
public enum Reference {
    /// The multi-index of flat position `index` in a row-major `shape`.
    static func multiIndex(_ index: Int, in shape: [Int]) -> [Int] {
        var rest = index
        var result = [Int](repeating: 0, count: shape.count)
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            result[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return result
    }

    /// The flat position of `index` in a row-major `shape`.
    static func flatIndex(_ index: [Int], in shape: [Int]) -> Int {
        var flat = 0
        for axis in shape.indices { flat = flat * shape[axis] + index[axis] }
        return flat
    }

    /// The element of a tensor of `shape` that output multi-index `index` (of a broadcast
    /// result of rank ≥ shape.count) reads.
    static func broadcastSource(_ index: [Int], from shape: [Int]) -> Int {
        let pad = index.count - shape.count
        var flat = 0
        for axis in shape.indices { flat = flat * shape[axis] + (shape[axis] == 1 ? 0 : index[axis + pad]) }
        return flat
    }
}
