import Testing
import Tensors
import TestSupport

@Suite struct TensorTests {
    @Test func storageIsSixtyFourByteAligned() {
        for count in [1, 3, 17, 1000] {
            let t = Tensor(zeros: [count])
            #expect(Int(bitPattern: t.rawPointer) % 64 == 0)
        }
    }

    @Test func copiesShareStorageUntilOneWrites() {
        let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        var b = a
        #expect(a.storage === b.storage)
        b.withMutableFloats { $0[0] = 100 }
        #expect(a.storage !== b.storage)
        #expect(a.toArray() == [1, 2, 3, 4])
        #expect(b.toArray() == [100, 2, 3, 4])
    }

    @Test func uniquelyOwnedStorageIsWrittenInPlace() {
        var a = Tensor(shape: [3], scalars: [1, 2, 3])
        let before = a.rawPointer
        a.withMutableFloats { $0[1] = 5 }
        #expect(a.rawPointer == before)
        #expect(a.toArray() == [1, 5, 3])
    }

    @Test func reshapeSharesStorageAndInfersOneDimension() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = a.reshaped([3, -1])
        #expect(b.shape == [3, 2])
        #expect(b.storage === a.storage)
    }

    @Test func detachedCopyOwnsItsStorageAndDropsTheGraph() {
        var a = Tensor(shape: [2], scalars: [1, 2])
        a.requiresGrad = true
        let b = (a * 2).detachedCopy()
        #expect(b.gradientNode == nil)
        #expect(b.toArray() == [2, 4])
    }

    @Test func float16ConversionRoundsToNearestEven() {
        // 1 + 2⁻¹¹ lies exactly between 1 and 1 + 2⁻¹⁰: ties go to the even mantissa (1.0).
        // 1 + 3·2⁻¹¹ lies between 1 + 2⁻¹⁰ and 1 + 2⁻⁹: ties go to 1 + 2⁻⁹.
        let values: [Float] = [1 + 0x1p-11, 1 + 3 * 0x1p-11, 65520, -0.0, .infinity]
        let half = Tensor(shape: [5], scalars: values).to(.float16)
        let back = half.toArray()
        #expect(back[0] == 1)
        #expect(back[1] == 1 + 0x1p-9)
        #expect(back[2] == .infinity)  // 65520 rounds up past the largest float16
        #expect(back[3] == 0 && back[3].sign == .minus)
        #expect(back[4] == .infinity)
    }

    @Test func bfloat16ConversionRoundsToNearestEven() {
        let values: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-8 + 0x1p-20, .nan]
        let back = Tensor(shape: [4], scalars: values).to(.bfloat16).toArray()
        #expect(back[0] == 1)
        #expect(back[1] == 1 + 0x1p-6)
        #expect(back[2] == 1 + 0x1p-7)
        #expect(back[3].isNaN)
    }

    @Test func integerConversionsAreExact() {
        let ids = Tensor(shape: [3], elements: [Int64(0), 30_522, -7])
        #expect(ids.to(.int32).toInt64Array() == [0, 30_522, -7])
        #expect(ids.toArray() == [0, 30_522, -7])
        #expect(Tensor(shape: [2], scalars: [2.9, -2.9]).toInt64Array() == [2, -2])
    }
}
