// Conversions between dtypes. Float → float16/bfloat16 round to nearest, ties to even;
// integers → float32 are exact up to 2^24; float → integer truncates toward zero.

extension Tensor {
    /// This tensor's values in `target` dtype (a new tensor; the same value when dtypes match).
    public func to(_ target: DType) -> Tensor {
        if target == dtype { return self }
        var result = Tensor(uninitializedShape: shape, dtype: target)
        convertElements(from: rawPointer, dtype: dtype, to: result.storage.base, dtype: target, count: count)
        if target.isFloatingPoint && dtype.isFloatingPoint {
            // Gradients are kept in float32 whatever the tensor's dtype.
            result = result.recordingGradient("to", inputs: [self]) { gradient in [gradient.to(.float32)] }
        }
        return result
    }

    /// The elements as float32 values (converting from any dtype).
    public func toArray() -> [Float] {
        let float = to(.float32)
        return float.withFloats { Array($0) }
    }

    /// The elements as Int64 values (converting from any dtype; floats truncate).
    public func toInt64Array() -> [Int64] {
        let integers = to(.int64)
        return integers.withUnsafeBufferPointer(as: Int64.self) { Array($0) }
    }

    /// The single element of a one-element tensor, as a Float.
    public var scalarValue: Float {
        precondition(count == 1, "scalarValue: tensor of shape \(shape) has \(count) elements")
        return toArray()[0]
    }
}

/// Converts `count` elements between any two dtypes. `source` and `destination` must not overlap.
public func convertElements(from source: UnsafeRawPointer, dtype sourceType: DType,
                            to destination: UnsafeMutableRawPointer, dtype destinationType: DType, count: Int) {
    if sourceType == destinationType {
        destination.copyMemory(from: source, byteCount: count * sourceType.byteSize)
        return
    }
    // Fast paths for the conversions that run on every weight load and every float16 response.
    switch (sourceType, destinationType) {
    case (.float16, .float32):
        let s = source.assumingMemoryBound(to: Float16.self), d = destination.assumingMemoryBound(to: Float.self)
        for i in 0..<count { d[i] = Float(s[i]) }
        return
    case (.float32, .float16):
        let s = source.assumingMemoryBound(to: Float.self), d = destination.assumingMemoryBound(to: Float16.self)
        for i in 0..<count { d[i] = Float16(s[i]) }
        return
    case (.bfloat16, .float32):
        let s = source.assumingMemoryBound(to: UInt16.self), d = destination.assumingMemoryBound(to: UInt32.self)
        for i in 0..<count { d[i] = UInt32(s[i]) << 16 }
        return
    case (.float32, .bfloat16):
        let s = source.assumingMemoryBound(to: Float.self), d = destination.assumingMemoryBound(to: BFloat16.self)
        for i in 0..<count { d[i] = BFloat16(s[i]) }
        return
    default:
        break
    }
    // Everything else goes through float32 (floats) or Int64 (integers), element by element.
    if destinationType.isFloatingPoint {
        let d = destination
        for i in 0..<count {
            let value = readAsFloat(source, sourceType, i)
            switch destinationType {
            case .float32: d.assumingMemoryBound(to: Float.self)[i] = value
            case .float16: d.assumingMemoryBound(to: Float16.self)[i] = Float16(value)
            case .bfloat16: d.assumingMemoryBound(to: BFloat16.self)[i] = BFloat16(value)
            default: preconditionFailure()
            }
        }
    } else {
        for i in 0..<count {
            let value: Int64 = sourceType.isFloatingPoint
                ? Int64(clampingFloat: readAsFloat(source, sourceType, i))
                : readAsInt64(source, sourceType, i)
            switch destinationType {
            case .int64: destination.assumingMemoryBound(to: Int64.self)[i] = value
            case .int32: destination.assumingMemoryBound(to: Int32.self)[i] = Int32(truncatingIfNeeded: value)
            case .uint8: destination.assumingMemoryBound(to: UInt8.self)[i] = UInt8(truncatingIfNeeded: value)
            case .bool: destination.assumingMemoryBound(to: Bool.self)[i] = value != 0
            default: preconditionFailure()
            }
        }
    }
}

@inline(__always)
private func readAsFloat(_ source: UnsafeRawPointer, _ type: DType, _ i: Int) -> Float {
    switch type {
    case .float32: source.assumingMemoryBound(to: Float.self)[i]
    case .float16: Float(source.assumingMemoryBound(to: Float16.self)[i])
    case .bfloat16: source.assumingMemoryBound(to: BFloat16.self)[i].floatValue
    case .int64: Float(source.assumingMemoryBound(to: Int64.self)[i])
    case .int32: Float(source.assumingMemoryBound(to: Int32.self)[i])
    case .uint8: Float(source.assumingMemoryBound(to: UInt8.self)[i])
    case .bool: source.assumingMemoryBound(to: UInt8.self)[i] != 0 ? 1 : 0
    }
}

@inline(__always)
private func readAsInt64(_ source: UnsafeRawPointer, _ type: DType, _ i: Int) -> Int64 {
    switch type {
    case .int64: source.assumingMemoryBound(to: Int64.self)[i]
    case .int32: Int64(source.assumingMemoryBound(to: Int32.self)[i])
    case .uint8: Int64(source.assumingMemoryBound(to: UInt8.self)[i])
    case .bool: source.assumingMemoryBound(to: UInt8.self)[i] != 0 ? 1 : 0
    default: preconditionFailure()
    }
}

extension Int64 {
    /// Truncates toward zero; NaN becomes 0 and out-of-range values saturate.
    init(clampingFloat value: Float) {
        if value.isNaN { self = 0 }
        else if value >= 9.2233715e18 { self = .max }
        else if value <= -9.2233715e18 { self = .min }
        else { self = Int64(value) }
    }
}
