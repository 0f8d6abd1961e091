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
                        // GEMM's 8×8 register transpose; moving 4-byte patterns as Float changes no bits.
                        transpose8x8(UnsafeRawPointer(s + ib + jb * strideJ).assumingMemoryBound(to: Float.self), sourceStride: strideJ,
                                     UnsafeMutableRawPointer(d + ib * strideK + jb).assumingMemoryBound(to: Float.self),
                                     destinationStride: strideK)
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
