// AVX-512 SGEMM block kernel: register tiles of up to 6 rows × 64 columns (4 × SIMD16<Float>).
// The tile is written out longhand on purpose: the 6×4 accumulators are separate locals (an array of
// accumulators spills to memory and runs 5-10× slower).
//
// Shape letters (for one call): M rows of the block, N columns, K depth.
//   C[M×N] (+)= A[M×K] · B[K×N]  (+ row or column bias, then ReLU)
// A is read in place: element (i, p) at a[⌊i/MR⌋·aTileStride + (i mod MR)·aRowStride + p·aDepthStride]
// with MR the tile rows: row-major A and its transpose (aTileStride = MR·aRowStride) and A packed
// in interleaved strips of MR rows (aRowStride = 1, aDepthStride = MR, aTileStride = MR·K) all fit.
// B is packed in panels of 64 columns:
// panel j holds B[p, 64j + x] at packedB[j·panelStride + p·64 + x], zero-padded past N.
// C is row-major with row stride cRowStride.
//
// Built with x86-64-v4 flags: `addProduct` on SIMD16<Float> is one vfmadd231ps on a zmm register.

#if arch(x86_64)

/// Columns of B per packed panel for the AVX512 kernel.
public let gemmPanelWidthAVX512 = 64
/// Rows of A per register tile for the AVX512 kernel.
public let gemmTileRowsAVX512 = 6

/// Computes one block of C with the 6×64 register tiles (see the file comment for layouts).
///
/// - Parameters:
///   - addToC: add the product to C's current values instead of overwriting them.
///   - rowBias: M values, `rowBias[i]` added to row i (nil: none).
///   - columnBias: N values, `columnBias[j]` added to column j (nil: none).
///   - relu: clamp the result at zero after the biases.
public func gemmBlockAVX512(rows: Int, columns: Int, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, aTileStride: Int,
        packedB: UnsafePointer<Float>, panelStride: Int,
        c: UnsafeMutablePointer<Float>, cRowStride: Int,
        addToC: Bool, rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?,
        relu: Bool) {
    let output = TileOutputAVX512(rowStride: cRowStride, addToC: addToC, relu: relu)
    var i = 0
    while i < rows {
        let tileRows = min(6, rows - i)
        let aTile = a + (i / 6) * aTileStride
        let rowBiasTile = rowBias.map { $0 + i }
        var j = 0, panel = 0
        while j < columns {
            let width = min(64, columns - j)
            let vectors = (width + 15) / 16
            let bTile = packedB + panel * panelStride
            let cTile = c + i * cRowStride + j
            let columnBiasTile = columnBias.map { $0 + j }
            switch (tileRows, vectors) {
            case (6, 4):
                tileAVX512(Rows6.self, Vectors4.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (6, 3):
                tileAVX512(Rows6.self, Vectors3.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (6, 2):
                tileAVX512(Rows6.self, Vectors2.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (6, _):
                tileAVX512(Rows6.self, Vectors1.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (5, 4):
                tileAVX512(Rows5.self, Vectors4.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (5, 3):
                tileAVX512(Rows5.self, Vectors3.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (5, 2):
                tileAVX512(Rows5.self, Vectors2.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (5, _):
                tileAVX512(Rows5.self, Vectors1.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (4, 4):
                tileAVX512(Rows4.self, Vectors4.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (4, 3):
                tileAVX512(Rows4.self, Vectors3.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (4, 2):
                tileAVX512(Rows4.self, Vectors2.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (4, _):
                tileAVX512(Rows4.self, Vectors1.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (3, 4):
                tileAVX512(Rows3.self, Vectors4.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (3, 3):
                tileAVX512(Rows3.self, Vectors3.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (3, 2):
                tileAVX512(Rows3.self, Vectors2.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (3, _):
                tileAVX512(Rows3.self, Vectors1.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (2, 4):
                tileAVX512(Rows2.self, Vectors4.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (2, 3):
                tileAVX512(Rows2.self, Vectors3.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (2, 2):
                tileAVX512(Rows2.self, Vectors2.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (2, _):
                tileAVX512(Rows2.self, Vectors1.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (_, 4):
                tileAVX512(Rows1.self, Vectors4.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (_, 3):
                tileAVX512(Rows1.self, Vectors3.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            case (_, 2):
                tileAVX512(Rows1.self, Vectors2.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            default:
                tileAVX512(Rows1.self, Vectors1.self, depth: depth, a: aTile, aRowStride: aRowStride, aDepthStride: aDepthStride,
                    b: bTile, c: cTile, width: width, rowBias: rowBiasTile, columnBias: columnBiasTile, output: output)
            }
            j += 64
            panel += 1
        }
        i += 6
    }
}

// MARK: - Register tile

/// What every tile of one block does with its result.
struct TileOutputAVX512 {
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
enum Vectors3: TileCount { static var value: Int { 3 } }
enum Vectors4: TileCount { static var value: Int { 4 } }

/// One register tile: `rows` × (16·`vectors`) accumulators held in individual SIMD16<Float> locals.
/// Generic over the tile shape so every shape gets its own specialization in which the unused
/// accumulators and the shape branches fold away.
private func tileAVX512<Rows: TileCount, Vectors: TileCount>(_: Rows.Type, _: Vectors.Type, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int,
        b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, width: Int,
        rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?,
        output: TileOutputAVX512) {
    typealias Vector = SIMD16<Float>
    let rows = Rows.value, vectors = Vectors.value
    var c00 = Vector(), c01 = Vector(), c02 = Vector(), c03 = Vector()
    var c10 = Vector(), c11 = Vector(), c12 = Vector(), c13 = Vector()
    var c20 = Vector(), c21 = Vector(), c22 = Vector(), c23 = Vector()
    var c30 = Vector(), c31 = Vector(), c32 = Vector(), c33 = Vector()
    var c40 = Vector(), c41 = Vector(), c42 = Vector(), c43 = Vector()
    var c50 = Vector(), c51 = Vector(), c52 = Vector(), c53 = Vector()
    let s1 = 1 * aRowStride, s2 = 2 * aRowStride, s3 = 3 * aRowStride, s4 = 4 * aRowStride, s5 = 5 * aRowStride
    var pa = a
    var pb = UnsafeRawPointer(b)
    for _ in 0..<depth {
        let b0 = pb.load(as: Vector.self)
        let b1 = vectors > 1 ? pb.load(fromByteOffset: 64, as: Vector.self) : Vector()
        let b2 = vectors > 2 ? pb.load(fromByteOffset: 128, as: Vector.self) : Vector()
        let b3 = vectors > 3 ? pb.load(fromByteOffset: 192, as: Vector.self) : Vector()
        do {
            let x = Vector(repeating: pa[0])
            c00.addProduct(x, b0)
            if vectors > 1 { c01.addProduct(x, b1) }
            if vectors > 2 { c02.addProduct(x, b2) }
            if vectors > 3 { c03.addProduct(x, b3) }
        }
        if rows > 1 {
            let x = Vector(repeating: pa[s1])
            c10.addProduct(x, b0)
            if vectors > 1 { c11.addProduct(x, b1) }
            if vectors > 2 { c12.addProduct(x, b2) }
            if vectors > 3 { c13.addProduct(x, b3) }
        }
        if rows > 2 {
            let x = Vector(repeating: pa[s2])
            c20.addProduct(x, b0)
            if vectors > 1 { c21.addProduct(x, b1) }
            if vectors > 2 { c22.addProduct(x, b2) }
            if vectors > 3 { c23.addProduct(x, b3) }
        }
        if rows > 3 {
            let x = Vector(repeating: pa[s3])
            c30.addProduct(x, b0)
            if vectors > 1 { c31.addProduct(x, b1) }
            if vectors > 2 { c32.addProduct(x, b2) }
            if vectors > 3 { c33.addProduct(x, b3) }
        }
        if rows > 4 {
            let x = Vector(repeating: pa[s4])
            c40.addProduct(x, b0)
            if vectors > 1 { c41.addProduct(x, b1) }
            if vectors > 2 { c42.addProduct(x, b2) }
            if vectors > 3 { c43.addProduct(x, b3) }
        }
        if rows > 5 {
            let x = Vector(repeating: pa[s5])
            c50.addProduct(x, b0)
            if vectors > 1 { c51.addProduct(x, b1) }
            if vectors > 2 { c52.addProduct(x, b2) }
            if vectors > 3 { c53.addProduct(x, b3) }
        }
        pa += aDepthStride
        pb += 256
    }

    // Epilogue. Full-width tiles go straight to C with vector loads/stores; a partial last
    // vector goes through a stack buffer so no store touches memory past column `width`.
    if width == 16 * vectors {
        @inline(__always) func emit(_ value: Vector, _ row: Int, _ vector: Int) {
            let target = UnsafeMutableRawPointer(c + row * output.rowStride + vector * 16)
            var result = value
            if output.addToC { result += target.loadUnaligned(as: Vector.self) }
            if let rowBias { result += Vector(repeating: rowBias[row]) }
            if let columnBias { result += UnsafeRawPointer(columnBias + vector * 16).loadUnaligned(as: Vector.self) }
            if output.relu { result = result.replacing(with: 0, where: result .< 0) }
            target.storeBytes(of: result, as: Vector.self)
        }
        emit(c00, 0, 0); if vectors > 1 { emit(c01, 0, 1) }; if vectors > 2 { emit(c02, 0, 2) }; if vectors > 3 { emit(c03, 0, 3) }
        if rows > 1 { emit(c10, 1, 0); if vectors > 1 { emit(c11, 1, 1) }; if vectors > 2 { emit(c12, 1, 2) }; if vectors > 3 { emit(c13, 1, 3) } }
        if rows > 2 { emit(c20, 2, 0); if vectors > 1 { emit(c21, 2, 1) }; if vectors > 2 { emit(c22, 2, 2) }; if vectors > 3 { emit(c23, 2, 3) } }
        if rows > 3 { emit(c30, 3, 0); if vectors > 1 { emit(c31, 3, 1) }; if vectors > 2 { emit(c32, 3, 2) }; if vectors > 3 { emit(c33, 3, 3) } }
        if rows > 4 { emit(c40, 4, 0); if vectors > 1 { emit(c41, 4, 1) }; if vectors > 2 { emit(c42, 4, 2) }; if vectors > 3 { emit(c43, 4, 3) } }
        if rows > 5 { emit(c50, 5, 0); if vectors > 1 { emit(c51, 5, 1) }; if vectors > 2 { emit(c52, 5, 2) }; if vectors > 3 { emit(c53, 5, 3) } }
    } else {
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 24) { buffer in
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
                    var result = values[row * 64 + column]
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
