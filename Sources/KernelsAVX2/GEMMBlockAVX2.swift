// AVX2+FMA SGEMM block kernel: register tiles of up to 6 rows × 16 columns (2 × SIMD8<Float>).
// The tile is written out longhand on purpose: the 6×2 accumulators are separate locals (an array of
// accumulators spills to memory and runs 5-10× slower).
//
// Shape letters (for one call): M rows of the block, N columns, K depth.
//   C[M×N] (+)= A[M×K] · B[K×N]  (+ row or column bias, then ReLU)
// A is read in place: element (i, p) at a[⌊i/MR⌋·aTileStride + (i mod MR)·aRowStride + p·aDepthStride]
// with MR the tile rows: row-major A and its transpose (aTileStride = MR·aRowStride) and A packed
// in interleaved strips of MR rows (aRowStride = 1, aDepthStride = MR, aTileStride = MR·K) all fit.
// B is packed in panels of 16 columns:
// panel j holds B[p, 16j + x] at packedB[j·panelStride + p·16 + x], zero-padded past N.
// C is row-major with row stride cRowStride.
//
// Built with x86-64-v3 flags: `addProduct` on SIMD8<Float> is one vfmadd231ps on a ymm register.

#if arch(x86_64)

/// Columns of B per packed panel for the AVX2 kernel.
public let gemmPanelWidthAVX2 = 16
/// Rows of A per register tile for the AVX2 kernel.
public let gemmTileRowsAVX2 = 6

/// Computes one block of C with the 6×16 register tiles (see the file comment for layouts).
///
/// - Parameters:
///   - addToC: add the product to C's current values instead of overwriting them.
///   - rowBias: M values, `rowBias[i]` added to row i (nil: none).
///   - columnBias: N values, `columnBias[j]` added to column j (nil: none).
///   - relu: clamp the result at zero after the biases.
public func gemmBlockAVX2(rows: Int, columns: Int, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, aTileStride: Int,
        packedB: UnsafePointer<Float>, panelStride: Int,
        c: UnsafeMutablePointer<Float>, cRowStride: Int,
        addToC: Bool, rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?,
        relu: Bool) {
    let output = TileOutputAVX2(rowStride: cRowStride, addToC: addToC, relu: relu)
    var i = 0
    while i < rows {
        let tileRows = min(6, rows - i)
        let aTile = a + (i / 6) * aTileStride
        let rowBiasTile = rowBias.map { $0 + i }
        var j = 0, panel = 0
        while j < columns {
            let width = min(16, columns - j)
            let vectors = (width + 7) / 8
            let bTile = packedB + panel * panelStride
            let cTile = c + i * cRowStride + j
            let columnBiasTile = columnBias.map { $0 + j }
            switch (tileRows, vectors) {
            case (6, 2):
                tileAVX2(Rows6.self, Vectors2.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (6, _):
                tileAVX2(Rows6.self, Vectors1.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (5, 2):
                tileAVX2(Rows5.self, Vectors2.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (5, _):
                tileAVX2(Rows5.self, Vectors1.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (4, 2):
                tileAVX2(Rows4.self, Vectors2.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (4, _):
                tileAVX2(Rows4.self, Vectors1.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (3, 2):
                tileAVX2(Rows3.self, Vectors2.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (3, _):
                tileAVX2(Rows3.self, Vectors1.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (2, 2):
                tileAVX2(Rows2.self, Vectors2.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (2, _):
                tileAVX2(Rows2.self, Vectors1.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (_, 2):
                tileAVX2(Rows1.self, Vectors2.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            default:
                tileAVX2(Rows1.self, Vectors1.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            }
            j += 16
            panel += 1
        }
        i += 6
    }
}

// MARK: - Register tile

/// What every tile of one block does with its result.
struct TileOutputAVX2 {
    var rowStride: Int
    var addToC: Bool
    var relu: Bool
}

/// A tile dimension known at compile time (one enum per value).
protocol TileCount { static var value: Int { get } }
enum Rows1: TileCount { static var value: Int { 1 } }
enum Rows2: TileCount { static var value: Int { 2 } }
enum Rows3: TileCount { static var value: Int { 3 } }
enum Rows4: TileCount { static var value: Int { 4 } }
enum Rows5: TileCount { static var value: Int { 5 } }
enum Rows6: TileCount { static var value: Int { 6 } }
enum Vectors1: TileCount { static var value: Int { 1 } }
enum Vectors2: TileCount { static var value: Int { 2 } }

/// One register tile: `rows` × (8·`vectors`) accumulators held in individual SIMD8<Float> locals.
/// Generic over the tile shape so every shape gets its own specialization in which the unused
/// accumulators and the shape branches fold away.
private func tileAVX2<Rows: TileCount, Vectors: TileCount>(_: Rows.Type, _: Vectors.Type, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int,
        b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, width: Int,
        rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?,
        output: TileOutputAVX2) {
    typealias Vector = SIMD8<Float>
    let rows = Rows.value, vectors = Vectors.value
    var c00 = Vector(), c01 = Vector()
    var c10 = Vector(), c11 = Vector()
    var c20 = Vector(), c21 = Vector()
    var c30 = Vector(), c31 = Vector()
    var c40 = Vector(), c41 = Vector()
    var c50 = Vector(), c51 = Vector()
    let s1 = 1 * aRowStride, s2 = 2 * aRowStride, s3 = 3 * aRowStride, s4 = 4 * aRowStride, s5 = 5 * aRowStride
    var pa = a
    var pb = UnsafeRawPointer(b)
    for _ in 0..<depth {
        let b0 = pb.load(as: Vector.self)
        let b1 = vectors > 1 ? pb.load(fromByteOffset: 32, as: Vector.self) : Vector()
        do {
            let x = Vector(repeating: pa[0])
            c00.addProduct(x, b0)
            if vectors > 1 { c01.addProduct(x, b1) }
        }
        if rows > 1 {
            let x = Vector(repeating: pa[s1])
            c10.addProduct(x, b0)
            if vectors > 1 { c11.addProduct(x, b1) }
        }
        if rows > 2 {
            let x = Vector(repeating: pa[s2])
            c20.addProduct(x, b0)
            if vectors > 1 { c21.addProduct(x, b1) }
        }
        if rows > 3 {
            let x = Vector(repeating: pa[s3])
            c30.addProduct(x, b0)
            if vectors > 1 { c31.addProduct(x, b1) }
        }
        if rows > 4 {
            let x = Vector(repeating: pa[s4])
            c40.addProduct(x, b0)
            if vectors > 1 { c41.addProduct(x, b1) }
        }
        if rows > 5 {
            let x = Vector(repeating: pa[s5])
            c50.addProduct(x, b0)
            if vectors > 1 { c51.addProduct(x, b1) }
        }
        pa += aDepthStride
        pb += 64
    }

    // Epilogue. Full-width tiles go straight to C with vector loads/stores; a partial last
    // vector goes through a stack buffer so no store touches memory past column `width`.
    if width == 8 * vectors {
        @inline(__always) func emit(_ value: Vector, _ row: Int, _ vector: Int) {
            let target = UnsafeMutableRawPointer(c + row * output.rowStride + vector * 8)
            var result = value
            if output.addToC { result += target.loadUnaligned(as: Vector.self) }
            if let rowBias { result += Vector(repeating: rowBias[row]) }
            if let columnBias { result += UnsafeRawPointer(columnBias + vector * 8).loadUnaligned(as: Vector.self) }
            if output.relu { result = result.replacing(with: 0, where: result .< 0) }
            target.storeBytes(of: result, as: Vector.self)
        }
        emit(c00, 0, 0); if vectors > 1 { emit(c01, 0, 1) }
        if rows > 1 { emit(c10, 1, 0); if vectors > 1 { emit(c11, 1, 1) } }
        if rows > 2 { emit(c20, 2, 0); if vectors > 1 { emit(c21, 2, 1) } }
        if rows > 3 { emit(c30, 3, 0); if vectors > 1 { emit(c31, 3, 1) } }
        if rows > 4 { emit(c40, 4, 0); if vectors > 1 { emit(c41, 4, 1) } }
        if rows > 5 { emit(c50, 5, 0); if vectors > 1 { emit(c51, 5, 1) } }
    } else {
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 12) { buffer in
            let tile = buffer.baseAddress!
            tile[0] = c00; tile[1] = c01
            tile[2] = c10; tile[3] = c11
            tile[4] = c20; tile[5] = c21
            tile[6] = c30; tile[7] = c31
            tile[8] = c40; tile[9] = c41
            tile[10] = c50; tile[11] = c51
            let values = UnsafeRawPointer(tile).assumingMemoryBound(to: Float.self)
            for row in 0..<rows {
                let line = c + row * output.rowStride
                for column in 0..<width {
                    var result = values[row * 16 + column]
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
#endif
