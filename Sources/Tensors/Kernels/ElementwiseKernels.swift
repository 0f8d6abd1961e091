// Elementwise kernels: unary maps (activations, scalar ops) and binary ops with broadcasting.
//
// Shape letters: n elements; for broadcasting, the loop nest of a `BroadcastLayout`.
// Both kernels work on SIMD16<Float>; a tail shorter than 16 runs through the same vector code on
// a partly filled vector, so every element gets the value the vector path gives it.
// Work is split over `ThreadPool.current` in contiguous element ranges once there is enough of it.

#if arch(x86_64)
import KernelsAVX512
#endif
import VectorMath

/// Elements per thread below which a cheap elementwise op (add, ReLU) stays serial. A
/// `parallelFor` measured 18 µs median here when the worker has to be scheduled (2 shared vCPUs),
/// about what streaming this many floats costs, so smaller ops gain nothing from a second thread.
let cheapElementwiseGrain = 65_536
/// The same for ops that call `exp`/`erf`/`tanh` (0.3–1.3 ns per element on one core).
let transcendentalElementwiseGrain = 16_384

// MARK: - Vector loads and stores

@inline(__always) func loadVector(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always) func storeVector(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// Σ of the lanes by halving (SIMD's generic `sum()` stays a call with a scalar loop).
@inline(__always) func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let eight = v.lowHalf + v.highHalf
    let four = eight.lowHalf + eight.highHalf
    let two = four.lowHalf + four.highHalf
    return two[0] + two[1]
}

/// The first `count` (< 16) elements at `p` in a vector, the other lanes zero.
@inline(__always) func loadPartialVector(_ p: UnsafePointer<Float>, _ count: Int) -> SIMD16<Float> {
    var v = SIMD16<Float>()
    for lane in 0..<count { v[lane] = p[lane] }
    return v
}

@inline(__always) func storePartialVector(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    for lane in 0..<count { p[lane] = v[lane] }
}

// MARK: - Unary

/// out[i] = operation(x[i]) for i in 0..<n. `out` may be `x` (in place).
public func elementwiseUnary<Operation: UnaryFloatOperation>(
    _ operation: Operation, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count n: Int,
    pool: ThreadPool = .current
) {
    pool.parallelChunks(n, minimumChunk: operation.grain) { range in
        unaryRun(operation, out: out + range.lowerBound, x: x + range.lowerBound, count: range.count)
    }
}

/// Whether transcendental element functions run their x86-64-v4 build: AVX-512 present and not
/// turned off by `PERISCOPE_GEMM_KERNEL` (which names the widest kernels to use).
let wideVectorFunctions = GEMMKernel.preferred == .avx512

@inline(__always)
func unaryRun<Operation: UnaryFloatOperation>(_ operation: Operation, out: UnsafeMutablePointer<Float>,
                                                x: UnsafePointer<Float>, count: Int) {
    #if arch(x86_64)
    if let function = operation.wideFunction, wideVectorFunctions {
        vectorFunctionRunAVX512(function, out: out, x: x, count: count)
        return
    }
    #endif
    var i = 0
    while i + 32 <= count {
        let v0 = operation.apply(loadVector(x + i)), v1 = operation.apply(loadVector(x + i + 16))
        storeVector(v0, out + i)
        storeVector(v1, out + i + 16)
        i += 32
    }
    while i + 16 <= count {
        storeVector(operation.apply(loadVector(x + i)), out + i)
        i += 16
    }
    if i < count {
        storePartialVector(operation.apply(loadPartialVector(x + i, count - i)), out + i, count - i)
    }
}

// MARK: - Binary with broadcasting

/// out = a ∘ b over `layout` (out is contiguous in `layout.outputShape`). `out` may be `a` when
/// `a` has the output's shape (in-place `a ∘= b`).
public func elementwiseBinary<Operation: BinaryFloatOperation>(
    _ operation: Operation, out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    layout: BroadcastLayout, pool: ThreadPool = .current
) {
    let count = layout.count
    if count == 0 { return }
    let rank = layout.shape.count
    let inner = layout.shape[rank - 1]
    let innerA = layout.stridesA[rank - 1], innerB = layout.stridesB[rank - 1]
    // Contiguous element ranges of the output; a range may start and end inside a row.
    pool.parallelChunks(count, minimumChunk: cheapElementwiseGrain) { range in
        var position = range.lowerBound
        var row = position / inner, column = position % inner
        var (offsetA, offsetB) = layout.offsets(row: row)
        var index = [Int](repeating: 0, count: rank)
        var rest = row
        for axis in stride(from: rank - 2, through: 0, by: -1) {
            index[axis] = rest % layout.shape[axis]
            rest /= layout.shape[axis]
        }
        while position < range.upperBound {
            let length = Swift.min(inner - column, range.upperBound - position)
            binaryRun(operation, out: out + position,
                      a: a + offsetA + column * innerA, strideA: innerA,
                      b: b + offsetB + column * innerB, strideB: innerB, count: length)
            position += length
            column = 0
            row += 1
            // Advance the outer multi-index.
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                offsetA += layout.stridesA[axis]
                offsetB += layout.stridesB[axis]
                if index[axis] < layout.shape[axis] { break }
                offsetA -= layout.stridesA[axis] * layout.shape[axis]
                offsetB -= layout.stridesB[axis] * layout.shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}

/// One innermost run: out[j] = a[j·strideA] ∘ b[j·strideB] for j in 0..<count.
@inline(__always)
func binaryRun<Operation: BinaryFloatOperation>(
    _ operation: Operation, out: UnsafeMutablePointer<Float>,
    a: UnsafePointer<Float>, strideA: Int, b: UnsafePointer<Float>, strideB: Int, count: Int
) {
    var j = 0
    switch (strideA, strideB) {
    case (1, 1):
        while j + 16 <= count {
            storeVector(operation.apply(loadVector(a + j), loadVector(b + j)), out + j)
            j += 16
        }
        while j < count { out[j] = operation.apply(a[j], b[j]); j += 1 }
    case (1, 0):
        let s = SIMD16<Float>(repeating: b[0]), scalar = b[0]
        while j + 16 <= count {
            storeVector(operation.apply(loadVector(a + j), s), out + j)
            j += 16
        }
        while j < count { out[j] = operation.apply(a[j], scalar); j += 1 }
    case (0, 1):
        let s = SIMD16<Float>(repeating: a[0]), scalar = a[0]
        while j + 16 <= count {
            storeVector(operation.apply(s, loadVector(b + j)), out + j)
            j += 16
        }
        while j < count { out[j] = operation.apply(scalar, b[j]); j += 1 }
    default:
        while j < count { out[j] = operation.apply(a[j * strideA], b[j * strideB]); j += 1 }
    }
}

// MARK: - Bias + activation

/// out[r, c] = operation(x[r, c] + bias[c]) for R rows of C columns (a linear layer's bias and
/// its activation in one pass). `out` may be `x`.
public func biasActivationKernel<Operation: UnaryFloatOperation>(
    _ operation: Operation, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    rows R: Int, columns C: Int, pool: ThreadPool = .current
) {
    if C == 0 { return }
    pool.parallelChunks(R, minimumChunk: Swift.max(1, operation.grain / C)) { range in
        for r in range {
            let source = x + r * C, destination = out + r * C
            var c = 0
            while c + 16 <= C {
                storeVector(operation.apply(loadVector(source + c) + loadVector(bias + c)), destination + c)
                c += 16
            }
            if c < C {
                let v = loadPartialVector(source + c, C - c) + loadPartialVector(bias + c, C - c)
                storePartialVector(operation.apply(v), destination + c, C - c)
            }
        }
    }
}
