/// The loop nest of an elementwise op over two broadcast operands, with axes merged as far as the
/// strides allow: `[N, C, H, W] + [1, C, 1, 1]` becomes shape `[N, C, H·W]`, strides
/// a `[C·H·W, H·W, 1]`, b `[0, 1, 0]`. Then the innermost loop is one of four runs:
/// both contiguous, a scalar from b, a scalar from a, or strided.
public struct BroadcastLayout: Sendable, Equatable {
    /// The broadcast result shape, before merging (what the output tensor has).
    public let outputShape: [Int]
    /// Merged loop extents; never empty (a scalar result is `[1]`).
    public let shape: [Int]
    /// Element strides of each operand along `shape` (0 where it broadcasts).
    public let stridesA: [Int]
    public let stridesB: [Int]

    public init(_ a: [Int], _ b: [Int]) {
        let output = a == b ? a : broadcastShape(a, b)
        outputShape = output
        let fullA = broadcastStrides(a, to: output), fullB = broadcastStrides(b, to: output)
        var mergedShape: [Int] = [], mergedA: [Int] = [], mergedB: [Int] = []
        for axis in output.indices where output[axis] != 1 {
            let size = output[axis], sa = fullA[axis], sb = fullB[axis]
            if let last = mergedShape.indices.last,
               mergedA[last] == sa * size, mergedB[last] == sb * size {
                // Continues the previous axis for both operands: one longer axis.
                mergedShape[last] *= size
                mergedA[last] = sa
                mergedB[last] = sb
            } else {
                mergedShape.append(size)
                mergedA.append(sa)
                mergedB.append(sb)
            }
        }
        if mergedShape.isEmpty { mergedShape = [1]; mergedA = [0]; mergedB = [0] }
        shape = mergedShape
        stridesA = mergedA
        stridesB = mergedB
    }

    /// Elements in the output.
    public var count: Int { shape.reduce(1, *) }

    /// Element offsets of both operands at the start of flat output position `row · shape.last`.
    func offsets(row: Int) -> (Int, Int) {
        var rest = row, offsetA = 0, offsetB = 0
        for axis in stride(from: shape.count - 2, through: 0, by: -1) {
            let i = rest % shape[axis]
            rest /= shape[axis]
            offsetA += i * stridesA[axis]
            offsetB += i * stridesB[axis]
        }
        return (offsetA, offsetB)
    }
}
