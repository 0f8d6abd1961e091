import Tensors

/// Merges dimensions `startAxis...endAxis` into one (PyTorch's `nn.Flatten`, default 1...−1).
open class Flatten: UnaryModule {
    public let startAxis: Int
    public let endAxis: Int

    public init(startAxis: Int = 1, endAxis: Int = -1) {
        self.startAxis = startAxis
        self.endAxis = endAxis
        super.init()
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        let rank = Swift.max(input.rank, 1)
        let start = startAxis < 0 ? startAxis + rank : startAxis, end = endAxis < 0 ? endAxis + rank : endAxis
        guard start >= 0, start < rank, end >= 0, end < rank, start <= end else {
            throw invalidInput("cannot flatten dimensions \(startAxis)...\(endAxis) of shape \(input.shape)")
        }
        return input.flattened(startAxis: startAxis, endAxis: endAxis)
    }

    open override var extraDescription: String { "start_dim=\(startAxis), end_dim=\(endAxis)" }
}
