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
    if widthStride == 1 {
        packRowsAcrossPanels(source + depthRange.lowerBound * depthStride, depthStride: depthStride, depth: depth, width: width,
                             panelWidth: panelWidth, panels: panels, destination, panelStride: panelStride)
        return
    }
    for panel in panels {
        let firstColumn = panel * panelWidth
        let columns = min(panelWidth, width - firstColumn)
        let out = destination + (panel - panels.lowerBound) * panelStride
        let input = source + firstColumn * widthStride + depthRange.lowerBound * depthStride
        if depthStride == 1 {
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

/// Rows of X are contiguous (B not transposed): row by row across all the panels, so each row is
/// read as one contiguous run (rows far apart, as in a 1×1 convolution's image planes, would
/// otherwise cost a cache miss per row per panel), with vector copies.
private func packRowsAcrossPanels(_ input: UnsafePointer<Float>, depthStride: Int, depth: Int, width: Int, panelWidth: Int,
                                  panels: Range<Int>, _ destination: UnsafeMutablePointer<Float>, panelStride: Int) {
    typealias Vector = SIMD8<Float>
    let firstColumn = panels.lowerBound * panelWidth
    let columns = min(panels.count * panelWidth, width - firstColumn)
    let fullPanels = columns / panelWidth, vectorsPerPanel = panelWidth / 8
    for p in 0..<depth {
        let row = input + p * depthStride + firstColumn
        for panel in 0..<fullPanels {
            let from = UnsafeRawPointer(row + panel * panelWidth)
            let to = UnsafeMutableRawPointer(destination + panel * panelStride + p * panelWidth)
            for v in 0..<vectorsPerPanel {
                to.storeBytes(of: from.loadUnaligned(fromByteOffset: v * 32, as: Vector.self), toByteOffset: v * 32, as: Vector.self)
            }
        }
        if fullPanels < panels.count {
            // The last panel: the columns left, then zeros.
            let line = destination + fullPanels * panelStride + p * panelWidth, from = row + fullPanels * panelWidth
            let left = columns - fullPanels * panelWidth
            for x in 0..<left { line[x] = from[x] }
            for x in left..<panelWidth { line[x] = 0 }
        }
    }
}

/// Columns of the panel are contiguous in X (B transposed, or Aᵀ): a transpose, in 8×8 register
/// blocks, strip by strip of depth so the panel rows being written stay in L1.
@inline(__always)
private func packColumnsContiguous(_ input: UnsafePointer<Float>, widthStride: Int, depth: Int, columns: Int,
                                   panelWidth: Int, _ out: UnsafeMutablePointer<Float>) {
    let fullColumns = columns / 8 * 8, fullDepth = depth / 8 * 8
    let strip = 64
    var start = 0
    while start < depth {
        let end = min(start + strip, depth), blockEnd = min(end, fullDepth)
        var x = 0
        while x < fullColumns {
            var p = start
            while p < blockEnd {
                transpose8x8(input + x * widthStride + p, sourceStride: widthStride, out + p * panelWidth + x, destinationStride: panelWidth)
                p += 8
            }
            for p in max(blockEnd, start)..<end {
                for column in x..<(x + 8) { out[p * panelWidth + column] = input[column * widthStride + p] }
            }
            x += 8
        }
        for column in fullColumns..<columns {
            let line = input + column * widthStride
            for p in start..<end { out[p * panelWidth + column] = line[p] }
        }
        if columns < panelWidth {
            for p in start..<end { (out + p * panelWidth + columns).update(repeating: 0, count: panelWidth - columns) }
        }
        start = end
    }
}

/// destination[i·destinationStride + j] = source[j·sourceStride + i] for an 8×8 block: three
/// rounds of even/odd interleaving (each rotates the 6-bit element index by one bit).
@inline(__always)
func transpose8x8(_ source: UnsafePointer<Float>, sourceStride: Int,
                          _ destination: UnsafeMutablePointer<Float>, destinationStride: Int) {
    typealias Vector = SIMD8<Float>
    func load(_ i: Int) -> Vector { UnsafeRawPointer(source + i * sourceStride).loadUnaligned(as: Vector.self) }
    var r0 = load(0), r1 = load(1), r2 = load(2), r3 = load(3), r4 = load(4), r5 = load(5), r6 = load(6), r7 = load(7)
    for _ in 0..<3 {
        (r0, r1, r2, r3, r4, r5, r6, r7) = (
            Vector(lowHalf: r0.evenHalf, highHalf: r1.evenHalf), Vector(lowHalf: r2.evenHalf, highHalf: r3.evenHalf),
            Vector(lowHalf: r4.evenHalf, highHalf: r5.evenHalf), Vector(lowHalf: r6.evenHalf, highHalf: r7.evenHalf),
            Vector(lowHalf: r0.oddHalf, highHalf: r1.oddHalf), Vector(lowHalf: r2.oddHalf, highHalf: r3.oddHalf),
            Vector(lowHalf: r4.oddHalf, highHalf: r5.oddHalf), Vector(lowHalf: r6.oddHalf, highHalf: r7.oddHalf))
    }
    func store(_ i: Int, _ value: Vector) { UnsafeMutableRawPointer(destination + i * destinationStride).storeBytes(of: value, as: Vector.self) }
    store(0, r0); store(1, r1); store(2, r2); store(3, r3); store(4, r4); store(5, r5); store(6, r6); store(7, r7)
}
