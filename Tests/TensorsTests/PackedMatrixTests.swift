import Testing
@testable import Tensors
import TestSupport

@Suite struct PackedMatrixTests {
    @Test func packsOncePerLayoutAndTracksItsWeight() {
        let weight = randomTensor([20, 30], seed: 3)
        let packed = PackedMatrix(weight)
        #expect(packed.isPacking(weight))
        #expect(packed.packedByteCount == 0)
        let kernel = GEMMKernel.preferred
        let first = packed.panels(kernel: kernel, alongRows: true)
        let bytes = packed.packedByteCount
        #expect(bytes >= 20 * 30 * 4)
        #expect(packed.panels(kernel: kernel, alongRows: true) == first)
        #expect(packed.packedByteCount == bytes)
        var changed = weight
        changed.withMutableFloats { $0[0] += 1 }  // copy-on-write: the packed source keeps the old values
        #expect(!packed.isPacking(changed))
        #expect(packed.isPacking(weight))
    }

    /// A derived form (Winograd's transformed filters) is built once, counted, and returned again.
    @Test func derivedFormsAreBuiltOnce() {
        let packed = PackedMatrix(randomTensor([4, 6], seed: 5))
        var builds = 0
        let first = packed.derived("doubled", count: 24) { target in
            builds += 1
            for i in 0..<24 { target[i] = 2 * packed.pointer[i] }
        }
        #expect(packed.derived("doubled", count: 24) { _ in builds += 1 } == first)
        #expect(builds == 1)
        #expect(first[5] == 2 * packed.pointer[5])
        #expect(packed.packedByteCount == 24 * 4)
    }

    @Test func convolutionWeightKeepsItsShape() {
        let packed = PackedMatrix(convolutionWeight: Tensor(zeros: [8, 3, 5, 7]))
        #expect(packed.rows == 8 && packed.columns == 105)
        #expect(packed.originalShape == [8, 3, 5, 7])
    }
}
