/// A multi-index over `shape` that tracks the matching offset through `strides`.
struct Odometer {
    let shape: [Int], strides: [Int]
    var index: [Int]
    var offset = 0

    init(shape: [Int], strides: [Int], start: Int) {
        self.shape = shape
        self.strides = strides
        index = [Int](repeating: 0, count: shape.count)
        var rest = start
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
            offset += index[axis] * strides[axis]
        }
    }

    mutating func advance() {
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            offset += strides[axis]
            if index[axis] < shape[axis] { return }
            offset -= strides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}
