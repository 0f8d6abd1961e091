/// The input span one pooling output covers along one axis: `count` positions from `start`,
/// `step` apart, already clipped to the input. Windows are separable, so a 2-D window is a row
/// window × a column window, and so is an average's divisor (`divisor` is this axis's factor).
public struct PoolingWindow: Sendable, Equatable {
    public var start: Int
    public var count: Int
    public var step: Int
    public var divisor: Int

    public init(start: Int, count: Int, step: Int = 1, divisor: Int) {
        self.start = start
        self.count = count
        self.step = step
        self.divisor = divisor
    }

    /// Max-pool windows (padding is never read; `divisor` unused).
    public static func maximum(inputSize: Int, outputSize: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) -> [PoolingWindow] {
        (0..<outputSize).map { o in
            let origin = o * stride - padding
            // First and one-past-last kernel taps that land inside the input.
            var first = 0
            while first < kernel && origin + first * dilation < 0 { first += 1 }
            var last = kernel
            while last > first && origin + (last - 1) * dilation >= inputSize { last -= 1 }
            return PoolingWindow(start: origin + first * dilation, count: last - first, step: dilation, divisor: 1)
        }
    }

    /// Average-pool windows, PyTorch's divisor: the window clipped to the padded input when
    /// `countIncludePad`, else clipped to the input.
    public static func average(inputSize: Int, outputSize: Int, kernel: Int, stride: Int, padding: Int,
                               countIncludePad: Bool) -> [PoolingWindow] {
        (0..<outputSize).map { o in
            let paddedStart = o * stride - padding
            let paddedEnd = Swift.min(paddedStart + kernel, inputSize + padding)
            let start = Swift.max(paddedStart, 0), end = Swift.min(paddedEnd, inputSize)
            let count = Swift.max(end - start, 0)
            return PoolingWindow(start: start, count: count, divisor: countIncludePad ? paddedEnd - paddedStart : count)
        }
    }

    /// Adaptive windows: output i covers ⌊i·n/m⌋ ..< ⌈(i+1)·n/m⌉.
    public static func adaptive(inputSize: Int, outputSize: Int) -> [PoolingWindow] {
        (0..<outputSize).map { o in
            let start = o * inputSize / outputSize, end = ((o + 1) * inputSize + outputSize - 1) / outputSize
            return PoolingWindow(start: start, count: end - start, divisor: end - start)
        }
    }
}

/// Output length of a pooling window sliding over `size` (PyTorch's formula; in ceil mode the
/// last window must start inside the input or the left padding).
public func pooledOutputSize(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, ceilMode: Bool) -> Int {
    let span = size + 2 * padding - dilation * (kernel - 1) - 1
    var out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
    if ceilMode && (out - 1) * stride >= size + padding { out -= 1 }
    return out
}
