// Packing of the GEMM's B operand into panels (the layout the block kernels stream).
//
// Shape letters: X is K×P (depth × width); element (p, j) at source[p·depthStride + j·widthStride].
// Panel t holds columns [t·NR, t·NR + NR) for a range of depth; the packed panels of a call start at
// `destination` in order: panel t of range r at destination[(t − r.lowerBound)·panelStride + p'·NR + x]
// = X[p0 + p', t·NR + x], zero past column P, so the kernels never read outside the panel.

/// Packs `panels` of X over rows `depthRange` (see the file comment for the layout).
func packPanels(source: UnsafePointer<Float>, depthStride: Int, widthStride: Int,
                depth depthRange: Range<Int>, width: Int, panelWidth: Int, panels: Range<Int>,
                destination: UnsafeMutablePointer<Float>, panelStride: Int) {
    let depth = depthRange.count
    for panel in panels {
        let firstColumn = panel * panelWidth
        let columns = min(panelWidth, width - firstColumn)
        let out = destination + (panel - panels.lowerBound) * panelStride
        let input = source + firstColumn * widthStride + depthRange.lowerBound * depthStride
        if widthStride == 1 {
            packRowsContiguous(input, depthStride: depthStride, depth: depth, columns: columns, panelWidth: panelWidth, out)
        } else if depthStride == 1 {
            packColumnsContiguous(input, widthStride: widthStride, depth: depth, columns: columns, panelWidth: panelWidth, out)
        } else {
            for p in 0..<depth {
                let line = out + p * panelWidth
                for x in 0..<columns { line[x] = input[p * depthStride + x * widthStride] }
                for x in columns..<panelWidth { line[x] = 0 }
            }
        }
    }
}

/// Rows of the panel are contiguous in X (B not transposed): vector copies.
@inline(__always)
private func packRowsContiguous(_ input: UnsafePointer<Float>, depthStride: Int, depth: Int, columns: Int,
                                panelWidth: Int, _ out: UnsafeMutablePointer<Float>) {
    typealias Vector = SIMD8<Float>
    let vectors = columns / 8
    for p in 0..<depth {
        let from = UnsafeRawPointer(input + p * depthStride)
        let to = UnsafeMutableRawPointer(out + p * panelWidth)
        for v in 0..<vectors {
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: v * 32, as: Vector.self), toByteOffset: v * 32, as: Vector.self)
        }
        let line = out + p * panelWidth, row = input + p * depthStride
        for x in (vectors * 8)..<columns { line[x] = row[x] }
        for x in columns..<panelWidth { line[x] = 0 }
    }
}

/// Columns of the panel are contiguous in X (B transposed, or Aᵀ): a transpose. Works in
/// strips of depth so the panel rows being written stay in L1.
@inline(__always)
private func packColumnsContiguous(_ input: UnsafePointer<Float>, widthStride: Int, depth: Int, columns: Int,
                                   panelWidth: Int, _ out: UnsafeMutablePointer<Float>) {
    let strip = 64
    var start = 0
    while start < depth {
        let end = min(start + strip, depth)
        for x in 0..<columns {
            let column = input + x * widthStride
            for p in start..<end { out[p * panelWidth + x] = column[p] }
        }
        if columns < panelWidth {
            for p in start..<end {
                for x in columns..<panelWidth { out[p * panelWidth + x] = 0 }
            }
        }
        start = end
    }
}
