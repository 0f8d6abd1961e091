/// A Swift type that can be stored in a tensor, tied to its `DType`.
public protocol TensorElement: Sendable {
    static var dtype: DType { get }
}

extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Float16: TensorElement { public static var dtype: DType { .float16 } }
extension BFloat16: TensorElement { public static var dtype: DType { .bfloat16 } }
extension Int64: TensorElement { public static var dtype: DType { .int64 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension UInt8: TensorElement { public static var dtype: DType { .uint8 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }

/// Brain floating point: the top 16 bits of a float32.
public struct BFloat16: Sendable, Hashable {
    public var bitPattern: UInt16

    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// Rounds to nearest, ties to even; NaN stays NaN (quiet), infinities stay infinite.
    public init(_ value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
            return
        }
        let lsb = (bits >> 16) & 1
        let rounded = bits &+ 0x7FFF &+ lsb
        bitPattern = UInt16(truncatingIfNeeded: rounded >> 16)
    }

    public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }
}
