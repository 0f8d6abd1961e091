// Portable dot-product kernel for the last few columns of C (N mod 8), vectorized along K.
//
// Shape letters: M rows, N columns (at most 4 per call), K depth.
//   C[M×N] (+)= A[M×K] · B[K×N]  (+ row/column bias, then ReLU)
// A row i is contiguous along K at a + i·aRowStride; column j of B is contiguous at b + j·bColumnStride.
// A tile that put these columns in a mostly-empty vector would spend a whole FMA on every (row, k);
// here one FMA covers 8 values of k, at the price of a horizontal sum per element of C.

/// Computes C[M×N] for N ≤ 4 columns with dot products along K (see the file comment for layouts).
internal func gemmDotColumnsPortable(rows: Int, columns: Int, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int,
        b: UnsafePointer<Float>, bColumnStride: Int,
        c: UnsafeMutablePointer<Float>, cRowStride: Int,
        addToC: Bool, rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?, relu: Bool) {
    precondition(columns >= 1 && columns <= 4, "gemmDotColumnsPortable: 1 to 4 columns per call, got \(columns)")
    let output = DotOutputPortable(addToC: addToC, rowBias: rowBias, columnBias: columnBias, relu: relu)
    var i = 0
    while i < rows {
        let count = rows - i >= 4 ? 4 : 1
        let aRows = a + i * aRowStride, cRows = c + i * cRowStride, bias = rowBias.map { $0 + i }
        switch (count, columns) {
        case (4, 4): dotPortable(DotCount4.self, DotCount4.self, depth: depth, a: aRows, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride, c: cRows, cRowStride: cRowStride, rowBias: bias, output: output)
        case (4, 3): dotPortable(DotCount4.self, DotCount3.self, depth: depth, a: aRows, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride, c: cRows, cRowStride: cRowStride, rowBias: bias, output: output)
        case (4, 2): dotPortable(DotCount4.self, DotCount2.self, depth: depth, a: aRows, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride, c: cRows, cRowStride: cRowStride, rowBias: bias, output: output)
        case (4, 1): dotPortable(DotCount4.self, DotCount1.self, depth: depth, a: aRows, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride, c: cRows, cRowStride: cRowStride, rowBias: bias, output: output)
        case (1, 4): dotPortable(DotCount1.self, DotCount4.self, depth: depth, a: aRows, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride, c: cRows, cRowStride: cRowStride, rowBias: bias, output: output)
        case (1, 3): dotPortable(DotCount1.self, DotCount3.self, depth: depth, a: aRows, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride, c: cRows, cRowStride: cRowStride, rowBias: bias, output: output)
        case (1, 2): dotPortable(DotCount1.self, DotCount2.self, depth: depth, a: aRows, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride, c: cRows, cRowStride: cRowStride, rowBias: bias, output: output)
        case (1, 1): dotPortable(DotCount1.self, DotCount1.self, depth: depth, a: aRows, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride, c: cRows, cRowStride: cRowStride, rowBias: bias, output: output)
        default: preconditionFailure("unreachable")
        }
        i += count
    }
}

/// What every dot tile does with its sums.
struct DotOutputPortable {
    var addToC: Bool
    var rowBias: UnsafePointer<Float>?
    var columnBias: UnsafePointer<Float>?
    var relu: Bool
}

/// A count known at compile time (one enum per value).
protocol DotCountPortable { static var value: Int { get } }

enum DotCount1: DotCountPortable { static var value: Int { 1 } }
enum DotCount2: DotCountPortable { static var value: Int { 2 } }
enum DotCount3: DotCountPortable { static var value: Int { 3 } }
enum DotCount4: DotCountPortable { static var value: Int { 4 } }

/// `rows` × `columns` dot products held in individual SIMD8<Float> locals, specialized per shape.
private func dotPortable<Rows: DotCountPortable, Columns: DotCountPortable>(_: Rows.Type, _: Columns.Type, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int, b: UnsafePointer<Float>, bColumnStride: Int,
        c: UnsafeMutablePointer<Float>, cRowStride: Int, rowBias: UnsafePointer<Float>?, output: DotOutputPortable) {
    typealias Vector = SIMD8<Float>
    let rows = Rows.value, columns = Columns.value
    var s00 = Vector(), s01 = Vector(), s02 = Vector(), s03 = Vector()
    var s10 = Vector(), s11 = Vector(), s12 = Vector(), s13 = Vector()
    var s20 = Vector(), s21 = Vector(), s22 = Vector(), s23 = Vector()
    var s30 = Vector(), s31 = Vector(), s32 = Vector(), s33 = Vector()
    let a0 = UnsafeRawPointer(a), a1 = UnsafeRawPointer(a + aRowStride), a2 = UnsafeRawPointer(a + 2 * aRowStride), a3 = UnsafeRawPointer(a + 3 * aRowStride)
    let b0 = UnsafeRawPointer(b), b1 = UnsafeRawPointer(b + bColumnStride), b2 = UnsafeRawPointer(b + 2 * bColumnStride), b3 = UnsafeRawPointer(b + 3 * bColumnStride)
    let vectorDepth = depth / 8 * 8
    var offset = 0
    while offset < vectorDepth * 4 {
        let y0 = b0.loadUnaligned(fromByteOffset: offset, as: Vector.self)
        let y1 = columns > 1 ? b1.loadUnaligned(fromByteOffset: offset, as: Vector.self) : Vector()
        let y2 = columns > 2 ? b2.loadUnaligned(fromByteOffset: offset, as: Vector.self) : Vector()
        let y3 = columns > 3 ? b3.loadUnaligned(fromByteOffset: offset, as: Vector.self) : Vector()
        do {
            let x = a0.loadUnaligned(fromByteOffset: offset, as: Vector.self)
            s00.addProduct(x, y0)
            if columns > 1 { s01.addProduct(x, y1) }
            if columns > 2 { s02.addProduct(x, y2) }
            if columns > 3 { s03.addProduct(x, y3) }
        }
        if rows > 1 {
            let x = a1.loadUnaligned(fromByteOffset: offset, as: Vector.self)
            s10.addProduct(x, y0)
            if columns > 1 { s11.addProduct(x, y1) }
            if columns > 2 { s12.addProduct(x, y2) }
            if columns > 3 { s13.addProduct(x, y3) }
        }
        if rows > 2 {
            let x = a2.loadUnaligned(fromByteOffset: offset, as: Vector.self)
            s20.addProduct(x, y0)
            if columns > 1 { s21.addProduct(x, y1) }
            if columns > 2 { s22.addProduct(x, y2) }
            if columns > 3 { s23.addProduct(x, y3) }
        }
        if rows > 3 {
            let x = a3.loadUnaligned(fromByteOffset: offset, as: Vector.self)
            s30.addProduct(x, y0)
            if columns > 1 { s31.addProduct(x, y1) }
            if columns > 2 { s32.addProduct(x, y2) }
            if columns > 3 { s33.addProduct(x, y3) }
        }
        offset += 32
    }
    @inline(__always) func finish(_ sum: Vector, _ row: Int, _ column: Int) {
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
