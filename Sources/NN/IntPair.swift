/// A 2-D size (kernel, stride, padding, dilation, output size): one integer for both dimensions
/// or a (height, width) pair, printed the way it was given, as PyTorch does.
public struct IntPair: Sendable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public let height: Int
    public let width: Int
    /// Given as one integer (`3`) rather than a pair (`(3, 3)`); only affects printing.
    public let isScalar: Bool

    public init(_ value: Int) {
        height = value
        width = value
        isScalar = true
    }

    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
        isScalar = false
    }

    public init(integerLiteral value: Int) { self.init(value) }

    /// The same values as a pair, as `torch.nn.modules.utils._pair` makes them.
    public var asPair: IntPair { IntPair(height, width) }

    public var tuple: (Int, Int) { (height, width) }

    public var description: String { isScalar ? "\(height)" : "(\(height), \(width))" }

    public static func == (lhs: IntPair, rhs: IntPair) -> Bool {
        lhs.height == rhs.height && lhs.width == rhs.width
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(height)
        hasher.combine(width)
    }
}
