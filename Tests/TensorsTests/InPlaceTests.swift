import Testing
import Tensors
import TestSupport

/// In-place ops: same values as the out-of-place ones, written in place only when the storage
/// is not shared (copy-on-write), and out-of-place while autograd records.
@Suite struct InPlaceTests {
    @Test(arguments: [([2, 5, 7, 11], [1, 5, 1, 1]), ([6, 33], [33]), ([40_000], [40_000]), ([3, 4], [])])
    func compoundAssignmentMatchesOutOfPlace(_ shapes: ([Int], [Int])) {
        let a = random(shapes.0, seed: 21), b = random(shapes.1, seed: 22)
        var sum = a; sum += b
        var difference = a; difference -= b
        var product = a; product *= b
        var scaled = a; scaled *= 0.25
        var shifted = a; shifted += 1.5
        #expect(identical(sum, a + b))
        #expect(identical(difference, a - b))
        #expect(identical(product, a * b))
        #expect(identical(scaled, a * 0.25))
        #expect(identical(shifted, a + 1.5))
    }

    @Test func uniquelyOwnedStorageIsWrittenInPlace() {
        var x = random([64, 64], seed: 23)
        let address = x.rawPointer
        x += random([64], seed: 24)
        x.reluInPlace()
        x.addReLUInPlace(random([64, 64], seed: 25))
        #expect(x.rawPointer == address)
    }

    @Test func sharedStorageIsCopiedFirst() {
        let original = random([8, 8], seed: 26)
        let snapshot = original.toArray()
        var x = original
        x += Tensor(shape: [8], repeating: 1)
        var y = original
        y.reluInPlace()
        #expect(original.toArray() == snapshot)
        #expect(x.storage !== original.storage && y.storage !== original.storage)
        #expect(identical(y, Reference.relu(original)))
        // A view sharing the storage of a larger tensor is not written through either.
        let whole = random([4, 8], seed: 27)
        var firstRow = whole.sliced(axis: 0, 0..<1)
        firstRow.reluInPlace()
        #expect(whole.toArray() == random([4, 8], seed: 27).toArray())
    }

    @Test func selfAliasingAddDoublesValues() {
        var x = random([5, 17], seed: 28)
        let expected = x * 2
        x += x
        #expect(identical(x, expected))
    }

    @Test func addReLUInPlaceMatchesComposedOps() {
        let a = random([2, 3, 9, 9], seed: 29), b = random([2, 3, 9, 9], seed: 30)
        var x = a
        x.addReLUInPlace(b)
        #expect(identical(x, (a + b).relu()))
        // The out-of-place form, with broadcasting, leaves its operands alone.
        let row = random([9], seed: 32), snapshot = a.toArray()
        #expect(identical(Tensor.addingReLU(a, row), (a + row).relu()))
        #expect(identical(Tensor.addingReLU(a, b), (a + b).relu()))
        #expect(a.toArray() == snapshot)
    }

    @Test func recordingFallsBackToOutOfPlaceOps() {
        let w = leaf(random([3, 4], seed: 31))
        var x = w * 2
        x += Tensor(shape: [4], repeating: -1)
        x.reluInPlace()
        #expect(w.toArray() == w.detachedCopy().toArray())
        let seed = Tensor(shape: [3, 4], repeating: 1)
        let grads = gradients(of: x, seed: seed, withRespectTo: [w])
        let expected = (w * 2 - 1).map { $0 > 0 ? 2 : 0 }
        expectClose(grads[0], expected)
    }

    @Test func inPlaceWithoutRecordingKeepsNoGraph() {
        GradMode.withDisabled {
            var x = leaf(random([4], seed: 32)).detached()
            x += Tensor(shape: [4], repeating: 1)
            #expect(x.gradientNode == nil)
        }
    }
}
