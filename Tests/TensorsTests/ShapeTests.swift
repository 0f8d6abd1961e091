import Testing
import Tensors
import TestSupport

/// Permute, slice, concatenate, split and flatten: the copy kernels against the element-by-element
/// `Reference`, for float32 and other element sizes.
@Suite struct ShapeTests {
    struct Permutation: Sendable, CustomTestStringConvertible {
        let shape: [Int], order: [Int]
        var testDescription: String { "\(shape) → \(order)" }
    }

    static let permutations: [Permutation] = [
        Permutation(shape: [1], order: [0]),
        Permutation(shape: [3, 17], order: [1, 0]),            // 2-D transpose
        Permutation(shape: [33, 47], order: [1, 0]),           // tiles with partial edges
        Permutation(shape: [2, 7, 3, 5], order: [0, 2, 1, 3]), // [B, S, H, D] → [B, H, S, D]: rows stay contiguous
        Permutation(shape: [2, 7, 3, 5], order: [0, 2, 3, 1]), // K transposed per head
        Permutation(shape: [2, 3, 5, 7], order: [3, 2, 1, 0]),
        Permutation(shape: [1, 64, 1, 49], order: [0, 3, 1, 2]),  // size-1 axes dropped
        Permutation(shape: [4, 256, 260], order: [0, 2, 1]),   // large enough to split over threads
        Permutation(shape: [2, 128, 8, 64], order: [0, 2, 1, 3]),
        // ConvNeXt's NCHW ↔ NHWC: whole 8×8 register blocks plus ragged tile edges both ways.
        Permutation(shape: [2, 24, 7, 9], order: [0, 2, 3, 1]),
        Permutation(shape: [2, 7, 9, 24], order: [0, 3, 1, 2]),
        Permutation(shape: [3, 40, 45], order: [0, 2, 1]),
    ]

    @Test(arguments: permutations)
    func permuteMatchesReference(_ p: Permutation) {
        let x = random(p.shape, seed: 121)
        #expect(identical(x.permuted(p.order), Reference.permuted(x, p.order)))
    }

    @Test(arguments: [DType.int64, .float16, .uint8, .int32])
    func permuteMovesOtherElementSizes(_ dtype: DType) {
        let x = Tensor(shape: [3, 5, 7], scalars: (0..<105).map { Float($0) })
        let expected = Reference.permuted(x, [2, 0, 1]).toArray()
        #expect(x.to(dtype).permuted([2, 0, 1]).toArray() == expected)
    }

    @Test func transposedBlocksKeepEveryBitPattern() {
        // 4-byte elements that are signalling and quiet NaNs, infinities and denormals as floats.
        let patterns: [Int32] = [0x7F80_0001, 0x7FC0_0001, -0x0080_0000, 1, -1, 0x7F7F_FFFF, Int32.min, 0x0000_0100]
        let values = (0..<(2 * 16 * 24)).map { patterns[$0 % patterns.count] &+ Int32($0 / patterns.count) }
        let x = Tensor(shape: [2, 16, 24], elements: values)
        let transposed = x.permuted([0, 2, 1]).withUnsafeBufferPointer(as: Int32.self) { Array($0) }
        for b in 0..<2 {
            for i in 0..<16 {
                for j in 0..<24 { #expect(transposed[(b * 24 + j) * 16 + i] == values[(b * 16 + i) * 24 + j]) }
            }
        }
    }

    @Test(arguments: [([5, 7], 0, 1..<4), ([5, 7], 1, 2..<7), ([2, 3, 300], 1, 1..<3), ([4, 9, 3], -1, 0..<1), ([6], 0, 0..<0)])
    func sliceMatchesReference(_ c: ([Int], Int, Range<Int>)) {
        let x = random(c.0, seed: 122)
        #expect(identical(x.sliced(axis: c.1, c.2), Reference.sliced(x, axis: c.1, c.2)))
    }

    @Test(arguments: [0, 1, 2, -1])
    func concatenateAndSplitRoundTrip(_ axis: Int) {
        let parts = [random([2, 3, 4], seed: 123), random([2, 3, 4], seed: 124), random([2, 3, 4], seed: 125)].enumerated().map { i, t in
            var shape = t.shape
            shape[axis < 0 ? axis + 3 : axis] = i + 1
            return random(shape, seed: UInt64(126 + i))
        }
        let joined = Tensor.concatenate(parts, axis: axis)
        #expect(identical(joined, Reference.concatenate(parts, axis: axis)))
        let pieces = joined.split(sizes: [1, 2, 3], axis: axis)
        for (piece, part) in zip(pieces, parts) { #expect(identical(piece, part)) }
        for (piece, expected) in zip(pieces, Reference.split(joined, sizes: [1, 2, 3], axis: axis)) { #expect(identical(piece, expected)) }
    }

    @Test func largeConcatenateAlongTheLastAxis() {
        let a = random([64, 1000], seed: 129), b = random([64, 3000], seed: 130)
        #expect(identical(Tensor.concatenate([a, b], axis: 1), Reference.concatenate([a, b], axis: 1)))
    }

    @Test func flattenSharesStorageAndMergesAxes() {
        let x = random([2, 3, 4, 5], seed: 131)
        let y = x.flattened(startAxis: 1)
        #expect(y.shape == [2, 60] && y.storage === x.storage)
        #expect(x.flattened().shape == [120])
        #expect(x.flattened(startAxis: 1, endAxis: 2).shape == [2, 12, 5])
    }

    @Test func permuteGradientIsTheInversePermutation() {
        let x = leaf(random([2, 3, 4], seed: 132))
        let seed = random([4, 2, 3], seed: 133)
        let g = gradients(of: x.permuted([2, 0, 1]), seed: seed, withRespectTo: [x])
        #expect(identical(g[0]!, seed.permuted([1, 2, 0])))
    }
}
