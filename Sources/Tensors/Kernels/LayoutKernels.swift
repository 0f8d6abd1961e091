// Layout kernels: permutation (transpose) and strided row copies (slice, concatenate, split).
//
// Shape letters: the output shape after merging axes that stay adjacent; K the output axis
// that is contiguous in the source, J the output's last axis. Byte-level and dtype-agnostic
// except the tiled transpose, which moves 4-byte elements (float32, int32).

/// Bytes below which a copy stays on one thread.
let copyGrain = 256 * 1024
/// Side of the square tiles the transpose moves (16 × 4 bytes: one cache line per tile row).
let transposeTile = 16

/// out = x with axes permuted: out's element at multi-index i (in `shape`, the output shape)
/// is x[Σ i_k · sourceStrides_k]. `out` is contiguous; `x` and `out` must not overlap.
public func permuteKernel(out: UnsafeMutableRawPointer, x: UnsafeRawPointer, shape: [Int], sourceStrides: [Int],
                          elementSize: Int, pool: ThreadPool = .current) {
    // Merge output axes that are also adjacent in the source; drop size-1 axes.
    var dims: [Int] = [], strides: [Int] = []
    for axis in shape.indices where shape[axis] != 1 {
        if let last = dims.indices.last, strides[last] == sourceStrides[axis] * shape[axis] {
            dims[last] *= shape[axis]
            strides[last] = sourceStrides[axis]
        } else {
            dims.append(shape[axis])
            strides.append(sourceStrides[axis])
        }
    }
    let count = dims.reduce(1, *)
    if count == 0 { return }
    if dims.isEmpty || (dims.count == 1 && strides[0] == 1) {
        parallelCopy(out: out, x: x, byteCount: count * elementSize, pool: pool)
        return
    }
    let rank = dims.count
    if strides[rank - 1] == 1 {
        // Rows stay contiguous: copy them whole.
        let inner = dims[rank - 1], rowBytes = inner * elementSize
        let rows = count / inner
        pool.parallelChunks(rows, minimumChunk: Swift.max(1, copyGrain / rowBytes)) { range in
            if rank <= 3 {
                // Up to two outer axes (the usual case once axes are merged): plain counters.
                let inner = rank == 3 ? dims[1] : rows
                let strideOuter = rank == 3 ? strides[0] : 0, strideInner = strides[rank - 2]
                var i = range.lowerBound / inner, j = range.lowerBound % inner
                for row in range {
                    copyBytes(out + row * rowBytes, x + (i * strideOuter + j * strideInner) * elementSize, rowBytes)
                    j += 1
                    if j == inner { j = 0; i += 1 }
                }
                return
            }
            var odometer = Odometer(shape: Array(dims.dropLast()), strides: Array(strides.dropLast()), start: range.lowerBound)
            for row in range {
                copyBytes(out + row * rowBytes, x + odometer.offset * elementSize, rowBytes)
                odometer.advance()
            }
        }
        return
    }
    guard elementSize == 4, let k = strides.firstIndex(of: 1) else {
        permuteCopy(source: x, destination: out, shape: dims, sourceStrides: strides, elementSize: elementSize)
        return
    }
    // Batches of 2-D transposes between output axes k (contiguous in x) and the last axis J.
    let K = dims[k], J = dims[rank - 1], strideJ = strides[rank - 1]
    let outStrides = Tensor.strides(for: dims)
    let strideK = outStrides[k]
    let batchAxes = (0..<(rank - 1)).filter { $0 != k }
    let batchDims = batchAxes.map { dims[$0] }
    let batchSource = batchAxes.map { strides[$0] }, batchOut = batchAxes.map { outStrides[$0] }
    let batches = batchDims.reduce(1, *)
    let tileRows = (K + transposeTile - 1) / transposeTile
    let source = x.assumingMemoryBound(to: UInt32.self), destination = out.assumingMemoryBound(to: UInt32.self)
    pool.parallelChunks(batches * tileRows, minimumChunk: Swift.max(1, copyGrain / (4 * transposeTile * J))) { range in
        for item in range {
            let batch = item / tileRows, i0 = (item % tileRows) * transposeTile
            var sourceOffset = 0, outOffset = 0, rest = batch
            for axis in stride(from: batchDims.count - 1, through: 0, by: -1) {
                let i = rest % batchDims[axis]
                rest /= batchDims[axis]
                sourceOffset += i * batchSource[axis]
                outOffset += i * batchOut[axis]
            }
            let s = source + sourceOffset, d = destination + outOffset
            let i1 = Swift.min(i0 + transposeTile, K)
            var j0 = 0
            while j0 < J {
                let j1 = Swift.min(j0 + transposeTile, J)
                // Whole 8×8 blocks in registers, the tile's ragged edges element by element.
                let i8 = i0 + (i1 - i0) / 8 * 8, j8 = j0 + (j1 - j0) / 8 * 8
                var ib = i0
                while ib < i8 {
                    var jb = j0
                    while jb < j8 {
                        transpose8x8(s + ib + jb * strideJ, sourceStride: strideJ, d + ib * strideK + jb, destinationStride: strideK)
                        jb += 8
                    }
                    ib += 8
                }
                for i in i0..<i1 {
                    let row = d + i * strideK
                    for j in (i < i8 ? j8 : j0)..<j1 { row[j] = s[i + j * strideJ] }
                }
                j0 = j1
            }
        }
    }
}

/// Copies `rows` rows of `rowBytes` from `x` (rows `sourceStride` bytes apart) to `out` (rows
/// `outStride` bytes apart): slicing along an axis and concatenating are this.
public func copyRowsKernel(out: UnsafeMutableRawPointer, outStride: Int, x: UnsafeRawPointer, sourceStride: Int,
                           rows: Int, rowBytes: Int, pool: ThreadPool = .current) {
    if rows == 0 || rowBytes == 0 { return }
    if outStride == rowBytes && sourceStride == rowBytes {
        parallelCopy(out: out, x: x, byteCount: rows * rowBytes, pool: pool)
        return
    }
    pool.parallelChunks(rows, minimumChunk: Swift.max(1, copyGrain / rowBytes)) { range in
        for row in range {
            (out + row * outStride).copyMemory(from: x + row * sourceStride, byteCount: rowBytes)
        }
    }
}

/// memcpy, with short copies (a row of one attention head) inlined as 64-byte moves.
@inline(__always) func copyBytes(_ destination: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ count: Int) {
    if count > 512 || count % 64 != 0 {
        destination.copyMemory(from: source, byteCount: count)
        return
    }
    var offset = 0
    while offset < count {
        destination.storeBytes(of: source.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self),
                               toByteOffset: offset, as: SIMD16<Float>.self)
        offset += 64
    }
}

/// memcpy split over the pool when large.
func parallelCopy(out: UnsafeMutableRawPointer, x: UnsafeRawPointer, byteCount: Int, pool: ThreadPool) {
    pool.parallelChunks(byteCount, minimumChunk: copyGrain) { range in
        (out + range.lowerBound).copyMemory(from: x + range.lowerBound, byteCount: range.count)
    }
}

/// d[i·destinationStride + j] = s[j·sourceStride + i] for i, j < 8, 4-byte elements: eight row
/// loads, three rounds of two-source shuffles (unpack, pair shuffle, 128-bit halves), eight stores.
@inline(__always)
private func transpose8x8(_ s: UnsafePointer<UInt32>, sourceStride: Int, _ d: UnsafeMutablePointer<UInt32>, destinationStride: Int) {
    typealias Row = SIMD8<UInt32>
    @inline(__always) func load(_ j: Int) -> Row { UnsafeRawPointer(s + j * sourceStride).loadUnaligned(as: Row.self) }
    @inline(__always) func low(_ x: Row, _ y: Row) -> Row { Row(x[0], y[0], x[1], y[1], x[4], y[4], x[5], y[5]) }
    @inline(__always) func high(_ x: Row, _ y: Row) -> Row { Row(x[2], y[2], x[3], y[3], x[6], y[6], x[7], y[7]) }
    @inline(__always) func pairsLow(_ x: Row, _ y: Row) -> Row { Row(x[0], x[1], y[0], y[1], x[4], x[5], y[4], y[5]) }
    @inline(__always) func pairsHigh(_ x: Row, _ y: Row) -> Row { Row(x[2], x[3], y[2], y[3], x[6], x[7], y[6], y[7]) }
    let r0 = load(0), r1 = load(1), r2 = load(2), r3 = load(3), r4 = load(4), r5 = load(5), r6 = load(6), r7 = load(7)
    let a0 = low(r0, r1), a1 = high(r0, r1), a2 = low(r2, r3), a3 = high(r2, r3)
    let a4 = low(r4, r5), a5 = high(r4, r5), a6 = low(r6, r7), a7 = high(r6, r7)
    // b0 = column 0 (low half) and 4 (high half) of rows 0–3, b4 the same of rows 4–7, and so on.
    let b0 = pairsLow(a0, a2), b1 = pairsHigh(a0, a2), b2 = pairsLow(a1, a3), b3 = pairsHigh(a1, a3)
    let b4 = pairsLow(a4, a6), b5 = pairsHigh(a4, a6), b6 = pairsLow(a5, a7), b7 = pairsHigh(a5, a7)
    @inline(__always) func store(_ index: Int, _ top: Row, _ bottom: Row) {
        UnsafeMutableRawPointer(d + index * destinationStride).storeBytes(of: Row(lowHalf: top.lowHalf, highHalf: bottom.lowHalf), as: Row.self)
        UnsafeMutableRawPointer(d + (index + 4) * destinationStride).storeBytes(of: Row(lowHalf: top.highHalf, highHalf: bottom.highHalf), as: Row.self)
    }
    store(0, b0, b4)
    store(1, b1, b5)
    store(2, b2, b6)
    store(3, b3, b7)
}
