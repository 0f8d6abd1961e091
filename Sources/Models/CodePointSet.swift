/// A set of Unicode code points built from sorted ranges: a bitmap for the Basic Multilingual Plane
/// (8 KB, one load and a mask per query) and a binary search over the ranges above it.
struct CodePointSet: Sendable {
    private let bitmap: [UInt64]
    private let supplementary: [ClosedRange<UInt32>]

    /// `ranges` must be sorted and disjoint.
    init(_ ranges: [ClosedRange<UInt32>]) {
        var bitmap = [UInt64](repeating: 0, count: 0x10000 / 64)
        var supplementary: [ClosedRange<UInt32>] = []
        for range in ranges {
            if range.lowerBound <= 0xFFFF {
                for value in range.lowerBound...min(range.upperBound, 0xFFFF) {
                    bitmap[Int(value >> 6)] |= 1 << UInt64(value & 63)
                }
            }
            if range.upperBound > 0xFFFF {
                supplementary.append(max(range.lowerBound, 0x10000)...range.upperBound)
            }
        }
        self.bitmap = bitmap
        self.supplementary = supplementary
    }

    @inline(__always)
    func contains(_ value: UInt32) -> Bool {
        if value <= 0xFFFF {
            return bitmap.withUnsafeBufferPointer { $0[Int(value >> 6)] } & (1 << UInt64(value & 63)) != 0
        }
        var low = 0, high = supplementary.count
        while low < high {
            let middle = (low + high) / 2
            if supplementary[middle].upperBound < value {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < supplementary.count && supplementary[low].contains(value)
    }
}
