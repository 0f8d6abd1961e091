// The SGEMM block kernel, written once for any SIMD width: register tiles of up to MR rows × NR
// columns, NR = (vectors per row) × (lanes of V). Each ISA target instantiates it with its vector
// type and tile shape (`KernelsAVX512`: SIMD16, 6 × 4 vectors = 6×64; `KernelsAVX2`: SIMD8, 6 × 2 =
// 6×16; `Tensors`' portable kernel: SIMD8, 4 × 2 = 4×16), so the body is compiled with that target's
// ISA flags: `addProduct` on V becomes one vfmadd231ps on a ymm or zmm register.
// One vector type per ISA target: a specialization is one symbol for given type arguments in every
// module that makes it, and the linker keeps a single copy, so a SIMD8 instantiation inside
// `KernelsAVX512` could replace `KernelsAVX2`'s with AVX-512 code (Tensors' portable SIMD8 tiles share
// their symbols with `KernelsAVX2`'s, built with the same baseline flags).
// The tile is written out longhand on purpose: the up to 6×4 accumulators are separate locals (an
// array of accumulators spills to memory and runs 5-10× slower).
//
// Shape letters (for one call): M rows of the block, N columns, K depth.
//   C[M×N] (+)= A[M×K] · B[K×N]  (+ row or column bias, then ReLU)
// A is read in place: element (i, p) at a[⌊i/MR⌋·aTileStride + (i mod MR)·aRowStride + p·aDepthStride]
// with MR the tile rows: row-major A and its transpose (aTileStride = MR·aRowStride) and A packed
// in interleaved strips of MR rows (aRowStride = 1, aDepthStride = MR, aTileStride = MR·K) all fit.
// B is packed in panels of NR columns:
// panel j holds B[p, NR·j + x] at packedB[j·panelStride + p·NR + x], zero-padded past N.
// C is row-major with row stride cRowStride.

/// What every tile of one block does with its result.
@usableFromInline
struct TileOutput {
    @usableFromInline var rowStride: Int
    @usableFromInline var addToC: Bool
    @usableFromInline var relu: Bool

    @inlinable init(rowStride: Int, addToC: Bool, relu: Bool) {
        (self.rowStride, self.addToC, self.relu) = (rowStride, addToC, relu)
    }
}

/// Computes one block of C with tiles of up to `TileRows` rows × `RowVectors` vectors of V (see the
/// file comment for layouts).
///
/// - Parameters:
///   - addToC: add the product to C's current values instead of overwriting them.
///   - rowBias: M values, `rowBias[i]` added to row i (nil: none).
///   - columnBias: N values, `columnBias[j]` added to column j (nil: none).
///   - relu: clamp the result at zero after the biases.
@inlinable
public func gemmBlockKernel<V: SIMD, TileRows: TileCount, RowVectors: TileCount>(
        _: V.Type, _: TileRows.Type, _: RowVectors.Type, rows: Int, columns: Int, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, aTileStride: Int,
        packedB: UnsafePointer<Float>, panelStride: Int,
        c: UnsafeMutablePointer<Float>, cRowStride: Int,
        addToC: Bool, rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?,
        relu: Bool) where V.Scalar == Float {
    let mr = TileRows.value, lanes = V.scalarCount, nr = RowVectors.value * lanes
    let output = TileOutput(rowStride: cRowStride, addToC: addToC, relu: relu)
    var i = 0
    while i < rows {
        let tileRows = min(mr, rows - i)
        let aTile = a + (i / mr) * aTileStride
        let rowBiasTile = rowBias.map { $0 + i }
        var j = 0, panel = 0
        while j < columns {
            let width = min(nr, columns - j)
            let vectors = (width + lanes - 1) / lanes
            let bTile = packedB + panel * panelStride
            let cTile = c + i * cRowStride + j
            let columnBiasTile = columnBias.map { $0 + j }
            @inline(__always) func run<R: TileCount>(_: R.Type) {
                // Shapes past the kernel's tile never occur: their cases fold away.
                if vectors >= 4 && RowVectors.value >= 4 {
                    tile(V.self, R.self, Count4.self, RowVectors.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                         b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
                } else if vectors == 3 && RowVectors.value >= 3 {
                    tile(V.self, R.self, Count3.self, RowVectors.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                         b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
                } else if vectors == 2 && RowVectors.value >= 2 {
                    tile(V.self, R.self, Count2.self, RowVectors.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                         b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
                } else {
                    tile(V.self, R.self, Count1.self, RowVectors.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                         b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
                }
            }
            if tileRows >= 6 && mr >= 6 { run(Count6.self) }
            else if tileRows == 5 && mr >= 5 { run(Count5.self) }
            else if tileRows == 4 && mr >= 4 { run(Count4.self) }
            else if tileRows == 3 { run(Count3.self) }
            else if tileRows == 2 { run(Count2.self) }
            else { run(Count1.self) }
            j += nr
            panel += 1
        }
        i += mr
    }
}

/// One register tile: `Rows` × `Vectors` accumulators of V held in individual locals, reading B
/// panels `PanelVectors` vectors wide.
@inlinable
func tile<V: SIMD, Rows: TileCount, Vectors: TileCount, PanelVectors: TileCount>(
        _: V.Type, _: Rows.Type, _: Vectors.Type, _: PanelVectors.Type, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int,
        b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, width: Int,
        rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?,
        output: TileOutput) where V.Scalar == Float {
    let rows = Rows.value, vectors = Vectors.value, lanes = V.scalarCount
    let vectorBytes = MemoryLayout<V>.stride, panelBytes = PanelVectors.value * vectorBytes
    var c00 = V(), c01 = V(), c02 = V(), c03 = V()
    var c10 = V(), c11 = V(), c12 = V(), c13 = V()
    var c20 = V(), c21 = V(), c22 = V(), c23 = V()
    var c30 = V(), c31 = V(), c32 = V(), c33 = V()
    var c40 = V(), c41 = V(), c42 = V(), c43 = V()
    var c50 = V(), c51 = V(), c52 = V(), c53 = V()
    let s1 = 1 * aRowStride, s2 = 2 * aRowStride, s3 = 3 * aRowStride, s4 = 4 * aRowStride, s5 = 5 * aRowStride
    var pa = a
    var pb = UnsafeRawPointer(b)
    for _ in 0..<depth {
        let b0 = pb.load(as: V.self)
        let b1 = vectors > 1 ? pb.load(fromByteOffset: vectorBytes, as: V.self) : V()
        let b2 = vectors > 2 ? pb.load(fromByteOffset: 2 * vectorBytes, as: V.self) : V()
        let b3 = vectors > 3 ? pb.load(fromByteOffset: 3 * vectorBytes, as: V.self) : V()
        do {
            let x = V(repeating: pa[0])
            c00.addProduct(x, b0)
            if vectors > 1 { c01.addProduct(x, b1) }
            if vectors > 2 { c02.addProduct(x, b2) }
            if vectors > 3 { c03.addProduct(x, b3) }
        }
        if rows > 1 {
            let x = V(repeating: pa[s1])
            c10.addProduct(x, b0)
            if vectors > 1 { c11.addProduct(x, b1) }
            if vectors > 2 { c12.addProduct(x, b2) }
            if vectors > 3 { c13.addProduct(x, b3) }
        }
        if rows > 2 {
            let x = V(repeating: pa[s2])
            c20.addProduct(x, b0)
            if vectors > 1 { c21.addProduct(x, b1) }
            if vectors > 2 { c22.addProduct(x, b2) }
            if vectors > 3 { c23.addProduct(x, b3) }
        }
        if rows > 3 {
            let x = V(repeating: pa[s3])
            c30.addProduct(x, b0)
            if vectors > 1 { c31.addProduct(x, b1) }
            if vectors > 2 { c32.addProduct(x, b2) }
            if vectors > 3 { c33.addProduct(x, b3) }
        }
        if rows > 4 {
            let x = V(repeating: pa[s4])
            c40.addProduct(x, b0)
            if vectors > 1 { c41.addProduct(x, b1) }
            if vectors > 2 { c42.addProduct(x, b2) }
            if vectors > 3 { c43.addProduct(x, b3) }
        }
        if rows > 5 {
            let x = V(repeating: pa[s5])
            c50.addProduct(x, b0)
            if vectors > 1 { c51.addProduct(x, b1) }
            if vectors > 2 { c52.addProduct(x, b2) }
            if vectors > 3 { c53.addProduct(x, b3) }
        }
        pa += aDepthStride
        pb += panelBytes
    }

    // Epilogue. Full-width tiles go straight to C with vector loads/stores; a partial last
    // vector goes through a stack buffer so no store touches memory past column `width`.
    if width == lanes * vectors {
        @inline(__always) func emit(_ value: V, _ row: Int, _ vector: Int) {
            let target = UnsafeMutableRawPointer(c + row * output.rowStride + vector * lanes)
            var result = value
            if output.addToC { result += target.loadUnaligned(as: V.self) }
            if let rowBias { result += V(repeating: rowBias[row]) }
            if let columnBias { result += UnsafeRawPointer(columnBias + vector * lanes).loadUnaligned(as: V.self) }
            if output.relu { result = result.replacing(with: 0, where: result .< 0) }
            target.storeBytes(of: result, as: V.self)
        }
        emit(c00, 0, 0); if vectors > 1 { emit(c01, 0, 1) }; if vectors > 2 { emit(c02, 0, 2) }; if vectors > 3 { emit(c03, 0, 3) }
        if rows > 1 { emit(c10, 1, 0); if vectors > 1 { emit(c11, 1, 1) }; if vectors > 2 { emit(c12, 1, 2) }; if vectors > 3 { emit(c13, 1, 3) } }
        if rows > 2 { emit(c20, 2, 0); if vectors > 1 { emit(c21, 2, 1) }; if vectors > 2 { emit(c22, 2, 2) }; if vectors > 3 { emit(c23, 2, 3) } }
        if rows > 3 { emit(c30, 3, 0); if vectors > 1 { emit(c31, 3, 1) }; if vectors > 2 { emit(c32, 3, 2) }; if vectors > 3 { emit(c33, 3, 3) } }
        if rows > 4 { emit(c40, 4, 0); if vectors > 1 { emit(c41, 4, 1) }; if vectors > 2 { emit(c42, 4, 2) }; if vectors > 3 { emit(c43, 4, 3) } }
        if rows > 5 { emit(c50, 5, 0); if vectors > 1 { emit(c51, 5, 1) }; if vectors > 2 { emit(c52, 5, 2) }; if vectors > 3 { emit(c53, 5, 3) } }
    } else {
        withUnsafeTemporaryAllocation(of: V.self, capacity: 24) { buffer in
            let tile = buffer.baseAddress!
            tile[0] = c00; tile[1] = c01; tile[2] = c02; tile[3] = c03
            tile[4] = c10; tile[5] = c11; tile[6] = c12; tile[7] = c13
            tile[8] = c20; tile[9] = c21; tile[10] = c22; tile[11] = c23
            tile[12] = c30; tile[13] = c31; tile[14] = c32; tile[15] = c33
            tile[16] = c40; tile[17] = c41; tile[18] = c42; tile[19] = c43
            tile[20] = c50; tile[21] = c51; tile[22] = c52; tile[23] = c53
            let values = UnsafeRawPointer(tile).assumingMemoryBound(to: Float.self)
            for row in 0..<rows {
                let line = c + row * output.rowStride
                for column in 0..<width {
                    var result = values[row * 4 * lanes + column]
                    if output.addToC { result += line[column] }
                    if let rowBias { result += rowBias[row] }
                    if let columnBias { result += columnBias[column] }
                    if output.relu { result = max(result, 0) }
                    line[column] = result
                }
            }
        }
    }
}
