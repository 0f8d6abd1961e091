// The element functions the elementwise kernels apply: a protocol for unary and one for binary
// float functions, and the ones the tensor ops use. Each works on SIMD16<Float> (and, for
// binary ops, on a scalar for strided runs); the kernels are specialized for each.

import VectorMath

/// A float → float function applied lane by lane.
public protocol UnaryFloatOperation: Sendable {
    func apply(_ x: SIMD16<Float>) -> SIMD16<Float>
    /// Elements per thread below which the kernel stays serial.
    var grain: Int { get }
    /// The same function by name when a wider ISA's build of it exists (`vectorFunctionRunAVX512`),
    /// which the kernels then run on CPUs that have it; nil for cheap, memory-bound functions.
    var wideFunction: VectorFunction? { get }
}

extension UnaryFloatOperation {
    public var grain: Int { cheapElementwiseGrain }
    public var wideFunction: VectorFunction? { nil }
}

/// A (float, float) → float function applied lane by lane.
public protocol BinaryFloatOperation: Sendable {
    func apply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float>
    func apply(_ a: Float, _ b: Float) -> Float
}

public struct AddOperation: BinaryFloatOperation {
    public init() {}
    @inline(__always) public func apply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a + b }
    @inline(__always) public func apply(_ a: Float, _ b: Float) -> Float { a + b }
}

public struct SubtractOperation: BinaryFloatOperation {
    public init() {}
    @inline(__always) public func apply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a - b }
    @inline(__always) public func apply(_ a: Float, _ b: Float) -> Float { a - b }
}

public struct MultiplyOperation: BinaryFloatOperation {
    public init() {}
    @inline(__always) public func apply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a * b }
    @inline(__always) public func apply(_ a: Float, _ b: Float) -> Float { a * b }
}

public struct DivideOperation: BinaryFloatOperation {
    public init() {}
    @inline(__always) public func apply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a / b }
    @inline(__always) public func apply(_ a: Float, _ b: Float) -> Float { a / b }
}

/// max(a + b, 0): a residual join followed by ReLU, in one pass.
public struct AddReLUOperation: BinaryFloatOperation {
    public init() {}
    @inline(__always) public func apply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { VectorMath.relu(a + b) }
    @inline(__always) public func apply(_ a: Float, _ b: Float) -> Float { let s = a + b; return s < 0 ? 0 : s }
}

/// x·scale + shift (scalar ops: `x + s` is scale 1, `x * s` is shift 0, `s − x` is scale −1).
public struct AffineOperation: UnaryFloatOperation {
    public let scale: Float, shift: Float
    public init(scale: Float, shift: Float) { self.scale = scale; self.shift = shift }
    @_transparent public func apply(_ x: SIMD16<Float>) -> SIMD16<Float> {
        // Exact scalar ops when one side is trivial, so x + s and x · s round once, as in PyTorch.
        if scale == 1 { return x + shift }
        if shift == 0 { return x * scale }
        return SIMD16(repeating: shift).addingProduct(x, SIMD16(repeating: scale))
    }
}

/// x / divisor (true division, not multiplication by the reciprocal).
public struct DivideByScalarOperation: UnaryFloatOperation {
    public let divisor: Float
    public init(divisor: Float) { self.divisor = divisor }
    @_transparent public func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { x / divisor }
}

public struct ReLUOperation: UnaryFloatOperation {
    public init() {}
    @_transparent public func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.relu(x) }
}

public struct GELUOperation: UnaryFloatOperation {
    public let approximation: GELUApproximation
    public init(approximation: GELUApproximation) { self.approximation = approximation }
    @_transparent public func apply(_ x: SIMD16<Float>) -> SIMD16<Float> {
        approximation == GELUApproximation.none ? VectorMath.geluErf(x) : VectorMath.geluTanh(x)
    }
    public var grain: Int { transcendentalElementwiseGrain }
    public var wideFunction: VectorFunction? { approximation == GELUApproximation.none ? .geluErf : .geluTanh }
}

public struct SigmoidOperation: UnaryFloatOperation {
    public init() {}
    @_transparent public func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.sigmoid(x) }
    public var grain: Int { transcendentalElementwiseGrain }
    public var wideFunction: VectorFunction? { .sigmoid }
}

public struct SiLUOperation: UnaryFloatOperation {
    public init() {}
    @_transparent public func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.silu(x) }
    public var grain: Int { transcendentalElementwiseGrain }
    public var wideFunction: VectorFunction? { .silu }
}

public struct ErfOperation: UnaryFloatOperation {
    public init() {}
    @_transparent public func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.erf(x) }
    public var grain: Int { transcendentalElementwiseGrain }
    public var wideFunction: VectorFunction? { .erf }
}

public struct TanhOperation: UnaryFloatOperation {
    public init() {}
    @_transparent public func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.tanh(x) }
    public var grain: Int { transcendentalElementwiseGrain }
    public var wideFunction: VectorFunction? { .tanh }
}

public struct ExpOperation: UnaryFloatOperation {
    public init() {}
    @_transparent public func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.exp(x) }
    public var grain: Int { transcendentalElementwiseGrain }
    public var wideFunction: VectorFunction? { .exp }
}

public struct SquareRootOperation: UnaryFloatOperation {
    public init() {}
    @_transparent public func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { x.squareRoot() }
}
