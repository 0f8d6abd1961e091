// The oriented GEMM the block kernels run: C'[M'×N'] (+)= A'[M'×K] · B'[K×N'], with A' read in
// place and B' in packed panels. `gemm` and the convolutions build one, schedule it, and run it.

/// Where the packed panels of B' come from.
enum GEMMPanelSource {
    /// A matrix to pack on every call: element (p, j) at pointer[p·depthStride + j·widthStride].
    case matrix(UnsafePointer<Float>, depthStride: Int, widthStride: Int)
    /// A constant matrix whose panels are packed once and cached (see `PackedMatrix.panels`).
    case packedMatrix(PackedMatrix, alongRows: Bool)
    /// A packer for operands that are not plain matrices (implicit im2col): writes element (p, x)
    /// of panel t at `destination[(t − panels.lowerBound)·panelStride + (p − depth.lowerBound)·panelWidth + x]`
    /// for the given panels and depth range. `costPerElement` feeds the scheduler.
    case custom(costPerElement: Double,
                pack: (_ panels: Range<Int>, _ depth: Range<Int>, _ destination: UnsafeMutablePointer<Float>,
                       _ panelStride: Int, _ panelWidth: Int) -> Void)

    /// Estimated work to pack one element, in FMA-instruction slots (the cost model's unit).
    var packCostPerElement: Double {
        switch self {
        case .packedMatrix: 0
        case .matrix(_, let depthStride, let widthStride): widthStride == 1 ? 0.125 : (depthStride == 1 ? 0.3 : 1)
        case .custom(let cost, _): cost
        }
    }
}

/// How one GEMM is split between threads.
struct GEMMSchedule {
    /// Threads taking part (1: serial on the caller).
    var threads: Int
    /// Split along panels of columns (true) or along tiles of rows (false).
    var byColumns: Bool
    /// `threads + 1` boundaries, in panels or in row tiles.
    var cuts: [Int]
    /// The last columns of C', computed by the dot-product kernel instead of tiles (0: none).
    var remainderColumns = 0
    /// Estimated time of the slowest thread, in FMA-instruction slots.
    var cost: Double
}

/// Floats between consecutive packed panels of `depth` rows: one cache line more than they hold,
/// so that panels a power-of-two-ish size apart (K = 4608 gives 9·2¹⁷ bytes) do not all map to the
/// same cache sets.
func gemmPanelStride(depth: Int, panelWidth: Int) -> Int { depth * panelWidth + 16 }

struct GEMMProblem {
    /// M', N', K.
    var rows: Int, columns: Int, depth: Int
    /// A' element (i, p) at a[i·aRowStride + p·aDepthStride], or, with `aTileStride` set, at
    /// a[⌊i/MR⌋·aTileStride + (i mod MR)·aRowStride + p·aDepthStride] (A' packed in strips of MR rows).
    var a: UnsafePointer<Float>
    var aRowStride: Int, aDepthStride: Int
    var aTileStride: Int? = nil
    var panels: GEMMPanelSource
    /// C' element (i, j) at c[i·cRowStride + j].
    var c: UnsafeMutablePointer<Float>
    var cRowStride: Int
    /// Add to C' instead of overwriting it.
    var addToC: Bool
    var epilogue: GEMMEpilogue

    // MARK: - Cost model

    /// Cost per depth step of one register tile, in FMA-instruction slots: its FMAs, but never
    /// less than the chains needed to cover the FMA latency (a thin tile idles the pipes), plus a
    /// cache line of A' per step when A' is not contiguous along K (measured ≈ 2 slots).
    private static func tileCost(rows: Int, vectors: Int, kernel: GEMMKernel, stridedA: Bool) -> Double {
        Double(max(rows * vectors, kernel == .avx512 ? 6 : 8) + (stridedA ? 2 : 0))
    }

    /// Per-depth-step cost of each panel of the first `mainColumns` columns (all rows) and of
    /// each row tile (all those panels).
    private func unitCosts(kernel: GEMMKernel, mainColumns: Int) -> (panels: [Double], rowTiles: [Double]) {
        let mr = kernel.tileRows, nr = kernel.panelWidth, lanes = kernel.vectorLanes
        // All tiles are full but the last row tile and the last panel: four tile shapes in all.
        let fullTiles = rows / mr, lastRows = rows % mr
        let fullPanels = mainColumns / nr, lastVectors = (mainColumns % nr + lanes - 1) / lanes
        // Consecutive depth steps of a tile more than a cache line apart: A' is read across its rows.
        let stridedA = aDepthStride > 16
        func cost(_ r: Int, _ v: Int) -> Double {
            r == 0 || v == 0 ? 0 : Self.tileCost(rows: r, vectors: v, kernel: kernel, stridedA: stridedA)
        }
        let fullVectors = nr / lanes
        let fullPanelCost = Double(fullTiles) * cost(mr, fullVectors) + cost(lastRows, fullVectors)
        let lastPanelCost = Double(fullTiles) * cost(mr, lastVectors) + cost(lastRows, lastVectors)
        let fullTileCost = Double(fullPanels) * cost(mr, fullVectors) + cost(mr, lastVectors)
        let lastTileCost = Double(fullPanels) * cost(lastRows, fullVectors) + cost(lastRows, lastVectors)
        let panels = [Double](repeating: fullPanelCost, count: fullPanels) + (lastVectors > 0 ? [lastPanelCost] : [])
        let rowTiles = [Double](repeating: fullTileCost, count: fullTiles) + (lastRows > 0 ? [lastTileCost] : [])
        return (panels, rowTiles)
    }

    /// How B' columns can be read as contiguous-ish vectors along K for the dot-product path:
    /// element (p, j) at pointer[p·depthStride + j·widthStride]. Nil for custom packers.
    private var columnSource: (pointer: UnsafePointer<Float>, depthStride: Int, widthStride: Int)? {
        switch panels {
        case .matrix(let pointer, let depthStride, let widthStride): (pointer, depthStride, widthStride)
        case .packedMatrix(let matrix, let alongRows): alongRows ? (matrix.pointer, 1, matrix.columns) : (matrix.pointer, matrix.columns, 1)
        case .custom: nil
        }
    }

    /// Columns past the last full vector that can go to the dot-product kernel (A' must be
    /// contiguous along K, B' readable by column), else 0.
    private func remainderCandidate(kernel: GEMMKernel) -> Int {
        guard aDepthStride == 1, aTileStride == nil, columnSource != nil else { return 0 }
        let remainder = columns % kernel.vectorLanes
        return remainder <= 8 ? remainder : 0
    }

    /// Cost of the dot-product path for `count` columns over all rows: one FMA per `lanes` values
    /// of K, load-bound (a row vector and a column vector per FMA), plus gathering the columns.
    private func remainderCost(kernel: GEMMKernel, count: Int) -> Double {
        Double(rows * count * depth) / Double(kernel.vectorLanes) * 1.5 + Double(count * depth)
    }

    /// Splits `costs` into `parts` contiguous ranges of about equal total; returns the cuts.
    private static func balancedCuts(_ costs: [Double], parts: Int) -> [Int] {
        let total = costs.reduce(0, +)
        var cuts = [0], running = 0.0, index = 0
        for part in 1..<parts {
            let target = total * Double(part) / Double(parts)
            while index < costs.count && running + costs[index] * 0.5 < target {
                running += costs[index]
                index += 1
            }
            cuts.append(max(index, cuts.last!))
        }
        cuts.append(costs.count)
        return cuts
    }

    /// The cheapest split of this problem over at most `threads` threads, with its estimated cost.
    func schedule(kernel: GEMMKernel, threads: Int) -> GEMMSchedule {
        var best = schedule(kernel: kernel, threads: threads, remainderColumns: 0)
        let remainder = remainderCandidate(kernel: kernel)
        if remainder > 0 {
            let candidate = schedule(kernel: kernel, threads: threads, remainderColumns: remainder)
            if candidate.cost < best.cost { best = candidate }
        }
        return best
    }

    private func schedule(kernel: GEMMKernel, threads requested: Int, remainderColumns: Int) -> GEMMSchedule {
        let (panelCosts, tileCosts) = unitCosts(kernel: kernel, mainColumns: columns - remainderColumns)
        let k = Double(depth)
        let packPerPanel = panels.packCostPerElement * Double(depth * kernel.panelWidth)
        let remainder = remainderColumns > 0 ? remainderCost(kernel: kernel, count: remainderColumns) : 0
        let serialCost = panelCosts.reduce(0, +) * k + packPerPanel * Double(panelCosts.count) + remainder
        let threads = min(requested, max(panelCosts.count, tileCosts.count, remainderColumns > 0 ? rows : 0))
        var best = GEMMSchedule(threads: 1, byColumns: true, cuts: [0, panelCosts.count], remainderColumns: remainderColumns, cost: serialCost)
        guard threads > 1 else { return best }

        // The remainder's rows are split evenly between the threads, after their main share.
        let remainderShare = remainder / Double(threads)
        if panelCosts.count >= threads || panelCosts.isEmpty {
            let cuts = panelCosts.isEmpty ? [Int](repeating: 0, count: threads + 1) : Self.balancedCuts(panelCosts, parts: threads)
            let slowest = (0..<threads).map { t in
                (cuts[t]..<cuts[t + 1]).reduce(0.0) { $0 + panelCosts[$1] * k + packPerPanel }
            }.max()! + remainderShare
            if slowest < best.cost {
                best = GEMMSchedule(threads: threads, byColumns: true, cuts: cuts, remainderColumns: remainderColumns, cost: slowest)
            }
        }
        if tileCosts.count >= threads && !panelCosts.isEmpty {
            let cuts = Self.balancedCuts(tileCosts, parts: threads)
            let slowest = (0..<threads).map { t in (cuts[t]..<cuts[t + 1]).reduce(0.0) { $0 + tileCosts[$1] * k } }.max()!
            // Packing runs first, split evenly, behind a barrier.
            let packing = packPerPanel * Double(panelCosts.count) / Double(threads)
            // With B' packed beforehand (a layer's weights) and smaller than A', the row split has no
            // packing barrier, reads the small B' into each thread's cache and keeps each thread's
            // rows of A' its own: it wins ties then. Otherwise it must be clearly cheaper (a large B'
            // would be streamed by every thread).
            let margin = packPerPanel == 0 && columns < rows ? 1.02 : 0.98
            if slowest + packing + remainderShare < best.cost * margin {
                best = GEMMSchedule(threads: threads, byColumns: false, cuts: cuts, remainderColumns: remainderColumns,
                                    cost: slowest + packing + remainderShare)
            }
        }
        return best
    }

    // MARK: - Execution

    /// KC for this run: `blocking.depth`, shortened further when many row tiles sweep each block of
    /// B' (the block should then stay in L2 rather than stream from L3 once per tile, which is what
    /// limits two threads sharing L3 on skinny products), then evened out over K.
    private func depthBlock(kernel: GEMMKernel, blocking: GEMMBlocking, schedule: GEMMSchedule, panelCount: Int) -> Int {
        var limit = blocking.depth
        let rowTiles = (rows + kernel.tileRows - 1) / kernel.tileRows / (schedule.byColumns ? 1 : schedule.threads)
        let panelsPerThread = schedule.byColumns ? (panelCount + schedule.threads - 1) / schedule.threads : panelCount
        let blockPanels = max(1, min(blocking.panels, panelsPerThread))
        if rowTiles >= 16 {
            let fitting = CPUCache.level2Bytes / (blockPanels * kernel.panelWidth * MemoryLayout<Float>.stride)
            limit = min(limit, max(fitting, 1024))
        }
        let blocks = (depth + limit - 1) / limit
        return (depth + blocks - 1) / blocks
    }

    func run(schedule: GEMMSchedule, kernel: GEMMKernel, pool: ThreadPool) {
        let nr = kernel.panelWidth, mr = kernel.tileRows
        // Tiles cover the first `mainColumns` columns, the dot-product kernel the rest.
        let mainColumns = columns - schedule.remainderColumns
        let panelCount = (mainColumns + nr - 1) / nr
        let blocking = GEMMBlocking.current(for: kernel)
        let blockDepth = depthBlock(kernel: kernel, blocking: blocking, schedule: schedule, panelCount: panelCount)

        /// Packs `panelRange` × depth `depthRange` of B' at `destination` (the first panel of the range), `panelStride` apart.
        func pack(_ panelRange: Range<Int>, _ depthRange: Range<Int>, _ destination: UnsafeMutablePointer<Float>, _ panelStride: Int) {
            switch panels {
            case .matrix(let pointer, let depthStride, let widthStride):
                packPanels(source: pointer, depthStride: depthStride, widthStride: widthStride, depth: depthRange, width: mainColumns,
                           panelWidth: nr, panels: panelRange, destination: destination, panelStride: panelStride)
            case .custom(_, let pack):
                pack(panelRange, depthRange, destination, panelStride, nr)
            case .packedMatrix:
                preconditionFailure("GEMMProblem: a packed matrix is never repacked")
            }
        }

        let tileStride = aTileStride ?? mr * aRowStride
        /// A'[i, p]'s address for a row i at the start of a tile.
        func aAddress(_ i: Int, _ p: Int) -> UnsafePointer<Float> { a + (i / mr) * tileStride + p * aDepthStride }

        /// Runs the block kernel on rows × panels for depth [p0, p0 + kc), B' panels at `packed`.
        func multiply(_ rowRange: Range<Int>, _ panelRange: Range<Int>, _ p0: Int, _ kc: Int,
                      _ packed: UnsafePointer<Float>, _ panelStride: Int) {
            let last = p0 + kc == depth
            let column0 = panelRange.lowerBound * nr, column1 = min(panelRange.upperBound * nr, mainColumns)
            kernel.block(rows: rowRange.count, columns: column1 - column0, depth: kc,
                         a: aAddress(rowRange.lowerBound, p0),
                         aRowStride: aRowStride, aDepthStride: aDepthStride, aTileStride: tileStride,
                         packedB: packed, panelStride: panelStride,
                         c: c + rowRange.lowerBound * cRowStride + column0, cRowStride: cRowStride,
                         addToC: addToC || p0 > 0,
                         rowBias: last ? epilogue.rowBias.map { $0 + rowRange.lowerBound } : nil,
                         columnBias: last ? epilogue.columnBias.map { $0 + column0 } : nil,
                         relu: last && epilogue.relu)
            if last, let activation = epilogue.blockActivation {
                applyBlockActivation(activation, c + rowRange.lowerBound * cRowStride + column0, rows: rowRange.count,
                                     columns: column1 - column0, rowStride: cRowStride)
            }
        }

        let fullStride = gemmPanelStride(depth: depth, panelWidth: nr)
        /// Rows × panels from panels packed for the full depth (`fullPanels`, `fullStride` apart).
        func multiplyPacked(_ rowRange: Range<Int>, _ panelRange: Range<Int>, _ fullPanels: UnsafePointer<Float>) {
            if rowRange.isEmpty || panelRange.isEmpty { return }
            var p0 = 0
            while p0 < depth {
                let kc = min(blockDepth, depth - p0)
                var panel = panelRange.lowerBound
                while panel < panelRange.upperBound {
                    let panelEnd = min(panel + blocking.panels, panelRange.upperBound)
                    multiply(rowRange, panel..<panelEnd, p0, kc, fullPanels + panel * fullStride + p0 * nr, fullStride)
                    panel = panelEnd
                }
                p0 += kc
            }
        }

        /// Rows × panels, packing each KC × (panels per block) block of B' into this thread's
        /// buffer just before the row tiles sweep it, so it is still in L2 (BLIS's loop order).
        func packAndMultiply(_ rowRange: Range<Int>, _ panelRange: Range<Int>) {
            if rowRange.isEmpty || panelRange.isEmpty { return }
            let buffer = ScratchBuffer.gemmPanels.value.floats(gemmPanelStride(depth: blockDepth, panelWidth: nr) * blocking.panels)
            var panel = panelRange.lowerBound
            while panel < panelRange.upperBound {
                let panelEnd = min(panel + blocking.panels, panelRange.upperBound)
                var p0 = 0
                while p0 < depth {
                    let kc = min(blockDepth, depth - p0)
                    let stride = gemmPanelStride(depth: kc, panelWidth: nr)
                    pack(panel..<panelEnd, p0..<(p0 + kc), buffer, stride)
                    multiply(rowRange, panel..<panelEnd, p0, kc, buffer, stride)
                    p0 += kc
                }
                panel = panelEnd
            }
        }

        // The remainder columns, contiguous along K (gathered unless they already are).
        var remainderBase: UnsafePointer<Float>?, remainderStride = 0
        if schedule.remainderColumns > 0, let source = columnSource {
            let first = source.pointer + mainColumns * source.widthStride
            if source.depthStride == 1 {
                (remainderBase, remainderStride) = (first, source.widthStride)
            } else {
                let gathered = ScratchBuffer.gemmColumns.value.floats(schedule.remainderColumns * depth)
                for j in 0..<schedule.remainderColumns {
                    for p in 0..<depth { gathered[j * depth + p] = first[p * source.depthStride + j * source.widthStride] }
                }
                (remainderBase, remainderStride) = (UnsafePointer(gathered), depth)
            }
        }

        /// The remainder columns for rows `rowRange`, four columns per kernel call.
        func multiplyRemainder(_ rowRange: Range<Int>) {
            guard let remainderBase, !rowRange.isEmpty else { return }
            var column = 0
            while column < schedule.remainderColumns {
                let count = min(4, schedule.remainderColumns - column)
                kernel.dotColumns(rows: rowRange.count, columns: count, depth: depth,
                                  a: a + rowRange.lowerBound * aRowStride, aRowStride: aRowStride,
                                  b: remainderBase + column * remainderStride, bColumnStride: remainderStride,
                                  c: c + rowRange.lowerBound * cRowStride + mainColumns + column, cRowStride: cRowStride,
                                  addToC: addToC, rowBias: epilogue.rowBias.map { $0 + rowRange.lowerBound },
                                  columnBias: epilogue.columnBias.map { $0 + mainColumns + column }, relu: epilogue.relu)
                if let activation = epilogue.blockActivation {
                    applyBlockActivation(activation, c + rowRange.lowerBound * cRowStride + mainColumns + column, rows: rowRange.count,
                                         columns: count, rowStride: cRowStride)
                }
                column += count
            }
        }

        let cuts = schedule.cuts, threads = schedule.threads
        func remainderRows(_ t: Int) -> Range<Int> { (rows * t / threads)..<(rows * (t + 1) / threads) }
        if case .packedMatrix(let matrix, let alongRows) = panels {
            let fullPanels = matrix.panels(kernel: kernel, alongRows: alongRows)
            if threads == 1 {
                multiplyPacked(0..<rows, 0..<panelCount, fullPanels)
                multiplyRemainder(0..<rows)
            } else if schedule.byColumns {
                pool.parallelFor(threads) { t in
                    multiplyPacked(0..<rows, cuts[t]..<cuts[t + 1], fullPanels)
                    multiplyRemainder(remainderRows(t))
                }
            } else {
                pool.parallelFor(threads) { t in
                    multiplyPacked(min(cuts[t] * mr, rows)..<min(cuts[t + 1] * mr, rows), 0..<panelCount, fullPanels)
                    multiplyRemainder(remainderRows(t))
                }
            }
        } else if threads == 1 {
            packAndMultiply(0..<rows, 0..<panelCount)
            multiplyRemainder(0..<rows)
        } else if schedule.byColumns {
            pool.parallelFor(threads) { t in
                packAndMultiply(0..<rows, cuts[t]..<cuts[t + 1])
                multiplyRemainder(remainderRows(t))
            }
        } else {
            // Every thread needs every panel: pack them all once, in parallel, then split the rows.
            let fullPanels = ScratchBuffer.gemmSharedPanels.value.floats(panelCount * fullStride)
            pool.parallelFor(threads) { t in
                let range = (panelCount * t / threads)..<(panelCount * (t + 1) / threads)
                if !range.isEmpty { pack(range, 0..<depth, fullPanels + range.lowerBound * fullStride, fullStride) }
            }
            pool.parallelFor(threads) { t in
                multiplyPacked(min(cuts[t] * mr, rows)..<min(cuts[t + 1] * mr, rows), 0..<panelCount, fullPanels)
                multiplyRemainder(remainderRows(t))
            }
        }
    }
}
