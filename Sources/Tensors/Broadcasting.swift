/// NumPy/PyTorch broadcasting: shapes are aligned at the right; each pair of dimensions must be
/// equal or one of them 1.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let rank = max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        precondition(da == db || da == 1 || db == 1, "broadcast: shapes \(a) and \(b) are incompatible")
        result[i] = da == 1 ? db : da
    }
    return result
}

/// Element strides of a tensor of `shape` read as `target` (0 along broadcast dimensions).
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let own = Tensor.strides(for: shape)
    let pad = target.count - shape.count
    return (0..<target.count).map { i in
        i < pad || shape[i - pad] == 1 ? 0 : own[i - pad]
    }
}

/// Applies `operation` elementwise over the broadcast of `a` and `b` (float32).
/// The innermost dimension runs as a plain loop so the compiler can vectorize the common cases
/// (same shape, scalar, bias along the last axis).
@inline(__always)
func broadcastBinary(_ a: Tensor, _ b: Tensor, _ operation: (Float, Float) -> Float) -> Tensor {
    precondition(a.dtype == .float32 && b.dtype == .float32,
                 "elementwise: float32 operands expected, got \(a.dtype) and \(b.dtype)")
    let shape = a.shape == b.shape ? a.shape : broadcastShape(a.shape, b.shape)
    var out = Tensor(uninitializedShape: shape)
    let count = out.count
    if count == 0 { return out }
    out.withMutableFloats { o in
        a.withFloats { pa in
            b.withFloats { pb in
                let x = pa.baseAddress!, y = pb.baseAddress!, z = o.baseAddress!
                if a.shape == b.shape {
                    for i in 0..<count { z[i] = operation(x[i], y[i]) }
                    return
                }
                if pb.count == 1 {
                    let s = y[0]
                    for i in 0..<count { z[i] = operation(x[i], s) }
                    return
                }
                if pa.count == 1 {
                    let s = x[0]
                    for i in 0..<count { z[i] = operation(s, y[i]) }
                    return
                }
                let rank = shape.count
                let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
                let inner = shape[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1]
                let outer = count / inner
                var index = [Int](repeating: 0, count: rank)
                var offsetA = 0, offsetB = 0
                for row in 0..<outer {
                    let zr = z + row * inner
                    if ia == 1 && ib == 1 {
                        for j in 0..<inner { zr[j] = operation(x[offsetA + j], y[offsetB + j]) }
                    } else if ia == 1 && ib == 0 {
                        let s = y[offsetB]
                        for j in 0..<inner { zr[j] = operation(x[offsetA + j], s) }
                    } else if ia == 0 && ib == 1 {
                        let s = x[offsetA]
                        for j in 0..<inner { zr[j] = operation(s, y[offsetB + j]) }
                    } else {
                        for j in 0..<inner { zr[j] = operation(x[offsetA + j * ia], y[offsetB + j * ib]) }
                    }
                    // Advance the multi-index over the outer dimensions.
                    var axis = rank - 2
                    while axis >= 0 {
                        index[axis] += 1
                        offsetA += sa[axis]; offsetB += sb[axis]
                        if index[axis] < shape[axis] { break }
                        offsetA -= sa[axis] * shape[axis]; offsetB -= sb[axis] * shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
    }
    return out
}

/// Sums `gradient` (shaped like a broadcast result) back down to `shape`.
public func reduceBroadcast(_ gradient: Tensor, to shape: [Int]) -> Tensor {
    if gradient.shape == shape { return gradient }
    let pad = gradient.rank - shape.count
    var axes: [Int] = Array(0..<pad)
    for i in 0..<shape.count where shape[i] == 1 && gradient.shape[i + pad] != 1 { axes.append(i + pad) }
    return gradient.sum(axes: axes, keepingDimensions: true).reshaped(shape)
}
