// The dot-product kernel for the last few columns of C (N mod the lanes of V), vectorized along K,
// written once for any SIMD width and instantiated by each ISA target (see `gemmBlockKernel`).
//
// Shape letters: M rows, N columns (at most 4 per call), K depth.
//   C[M×N] (+)= A[M×K] · B[K×N]  (+ row/column bias, then ReLU)
// A row i is contiguous along K at a + i·aRowStride; column j of B is contiguous at b + j·bColumnStride.
// A tile that put these columns in a mostly-empty vector would spend a whole FMA on every (row, k);
// here one FMA covers a vector of k, at the price of a horizontal sum per element of C.

/// What every dot tile does with its sums.
@usableFromInline
struct DotOutput {
    @usableFromInline var addToC: Bool
    @usableFromInline var columnBias: UnsafePointer<Float>?
    @usableFromInline var relu: Bool

    @inlinable init(addToC: Bool, columnBias: UnsafePointer<Float>?, relu: Bool) {
        (self.addToC, self.columnBias, self.relu) = (addToC, columnBias, relu)
    }
}

/// Computes C[M×N] for N ≤ 4 columns with dot products along K (see the file comment for layouts).
@inlinable
public func gemmDotColumnsKernel<V: SIMD>(_: V.Type, rows: Int, columns: Int, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int,
        b: UnsafePointer<Float>, bColumnStride: Int,
        c: UnsafeMutablePointer<Float>, cRowStride: Int,
        addToC: Bool, rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?, relu: Bool) where V.Scalar == Float {
    precondition(columns >= 1 && columns <= 4, "gemmDotColumnsKernel: 1 to 4 columns per call, got \(columns)")
    let output = DotOutput(addToC: addToC, columnBias: columnBias, relu: relu)
    var i = 0
    while i < rows {
        let count = rows - i >= 4 ? 4 : 1
        let aRows = a + i * aRowStride, cRows = c + i * cRowStride, bias = rowBias.map { $0 + i }
        @inline(__always) func run<R: TileCount>(_: R.Type) {
            switch columns {
            case 4: dot(V.self, R.self, Count4.self, depth: depth, a: aRows, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride, c: cRows, cRowStride: cRowStride, rowBias: bias, output: output)
            case 3: dot(V.self, R.self, Count3.self, depth: depth, a: aRows, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride, c: cRows, cRowStride: cRowStride, rowBias: bias, output: output)
            case 2: dot(V.self, R.self, Count2.self, depth: depth, a: aRows, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride, c: cRows, cRowStride: cRowStride, rowBias: bias, output: output)
            default: dot(V.self, R.self, Count1.self, depth: depth, a: aRows, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride, c: cRows, cRowStride: cRowStride, rowBias: bias, output: output)
            }
        }
        if count == 4 { run(Count4.self) } else { run(Count1.self) }
        i += count
    }
}

/// `Rows` × `Columns` dot products held in individual locals of V, specialized per shape.
@inlinable
func dot<V: SIMD, Rows: TileCount, Columns: TileCount>(_: V.Type, _: Rows.Type, _: Columns.Type, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int, b: UnsafePointer<Float>, bColumnStride: Int,
        c: UnsafeMutablePointer<Float>, cRowStride: Int, rowBias: UnsafePointer<Float>?, output: DotOutput) where V.Scalar == Float {
    let rows = Rows.value, columns = Columns.value, lanes = V.scalarCount, vectorBytes = MemoryLayout<V>.stride
    var s00 = V(), s01 = V(), s02 = V(), s03 = V()
    var s10 = V(), s11 = V(), s12 = V(), s13 = V()
    var s20 = V(), s21 = V(), s22 = V(), s23 = V()
    var s30 = V(), s31 = V(), s32 = V(), s33 = V()
    let a0 = UnsafeRawPointer(a), a1 = UnsafeRawPointer(a + aRowStride), a2 = UnsafeRawPointer(a + 2 * aRowStride), a3 = UnsafeRawPointer(a + 3 * aRowStride)
    let b0 = UnsafeRawPointer(b), b1 = UnsafeRawPointer(b + bColumnStride), b2 = UnsafeRawPointer(b + 2 * bColumnStride), b3 = UnsafeRawPointer(b + 3 * bColumnStride)
    let vectorDepth = depth / lanes * lanes
    var offset = 0
    while offset < vectorDepth * MemoryLayout<Float>.stride {
        let y0 = b0.loadUnaligned(fromByteOffset: offset, as: V.self)
        let y1 = columns > 1 ? b1.loadUnaligned(fromByteOffset: offset, as: V.self) : V()
        let y2 = columns > 2 ? b2.loadUnaligned(fromByteOffset: offset, as: V.self) : V()
        let y3 = columns > 3 ? b3.loadUnaligned(fromByteOffset: offset, as: V.self) : V()
        do {
            let x = a0.loadUnaligned(fromByteOffset: offset, as: V.self)
            s00.addProduct(x, y0)
            if columns > 1 { s01.addProduct(x, y1) }
            if columns > 2 { s02.addProduct(x, y2) }
            if columns > 3 { s03.addProduct(x, y3) }
        }
        if rows > 1 {
            let x = a1.loadUnaligned(fromByteOffset: offset, as: V.self)
            s10.addProduct(x, y0)
            if columns > 1 { s11.addProduct(x, y1) }
            if columns > 2 { s12.addProduct(x, y2) }
            if columns > 3 { s13.addProduct(x, y3) }
        }
        if rows > 2 {
            let x = a2.loadUnaligned(fromByteOffset: offset, as: V.self)
            s20.addProduct(x, y0)
            if columns > 1 { s21.addProduct(x, y1) }
            if columns > 2 { s22.addProduct(x, y2) }
            if columns > 3 { s23.addProduct(x, y3) }
        }
        if rows > 3 {
            let x = a3.loadUnaligned(fromByteOffset: offset, as: V.self)
            s30.addProduct(x, y0)
            if columns > 1 { s31.addProduct(x, y1) }
            if columns > 2 { s32.addProduct(x, y2) }
            if columns > 3 { s33.addProduct(x, y3) }
        }
        offset += vectorBytes
    }
    @inline(__always) func finish(_ sum: V, _ row: Int, _ column: Int) {
        var total = sum.sum()
        let aRow = a + row * aRowStride, bColumn = b + column * bColumnStride
        for p in vectorDepth..<depth { total += aRow[p] * bColumn[p] }
        let target = c + row * cRowStride + column
        if output.addToC { total += target.pointee }
        if let rowBias { total += rowBias[row] }
        if let columnBias = output.columnBias { total += columnBias[column] }
        if output.relu { total = max(total, 0) }
        target.pointee = total
    }
    finish(s00, 0, 0); if columns > 1 { finish(s01, 0, 1) }; if columns > 2 { finish(s02, 0, 2) }; if columns > 3 { finish(s03, 0, 3) }
    if rows > 1 { finish(s10, 1, 0); if columns > 1 { finish(s11, 1, 1) }; if columns > 2 { finish(s12, 1, 2) }; if columns > 3 { finish(s13, 1, 3) } }
    if rows > 2 { finish(s20, 2, 0); if columns > 1 { finish(s21, 2, 1) }; if columns > 2 { finish(s22, 2, 2) }; if columns > 3 { finish(s23, 2, 3) } }
    if rows > 3 { finish(s30, 3, 0); if columns > 1 { finish(s31, 3, 1) }; if columns > 2 { finish(s32, 3, 2) }; if columns > 3 { finish(s33, 3, 3) } }
}
