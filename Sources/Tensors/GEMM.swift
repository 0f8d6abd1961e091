// Single-precision matrix multiply: the kernel everything heavy ends in.
//
// Shape letters: M rows of C, N columns of C, K the reduced dimension.
//   C[M×N] = op(A)[M×K] · op(B)[K×N]  (+ C when `accumulate`) (+ row/column bias, ReLU: `GEMMEpilogue`)
// op(A) = A, or Aᵀ when `transposeA` (A stored K×M). Leading dimensions are row strides.
//
// How the fast path works (BLIS-style, see `GEMMKernel` for the tile sizes MR×NR):
// - One operand is packed into panels NR columns wide (`GEMMPacking.swift`), block by block just
//   before use; a `PackedMatrix` operand arrives packed already. The other is read in place.
// - Orientation: the kernels vectorize along the packed operand's columns, so for a skinny N it
//   can be cheaper to compute Cᵀ = op(B)ᵀ·op(A)ᵀ and transpose the small result; and a few
//   columns past the last full vector (N = 49: 48 + 1) can go to a dot-product kernel along K.
//   A cost model over the actual tile shapes (`GEMMProblem.schedule`) picks among these.
// - Blocking: depth in blocks of KC, columns in blocks of a few panels swept by every row tile
//   (`GEMMBlocking`, sized from the CPU's L1 and L2).
// - Threads: C is split between the pool's threads along whichever dimension balances best
//   (columns: each thread packs and uses its own panels; rows: panels are packed in parallel first).

// MARK: - Public entry points

/// The fast GEMM (dispatched to the best kernel for this CPU), BLAS-style arguments.
public func gemm(m: Int, n: Int, k: Int,
                 a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
                 b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
                 c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false,
                 pool: ThreadPool = .current) {
    gemm(m: m, n: n, k: k,
         a: .matrix(a, leadingDimension: lda, transposed: transposeA),
         b: .matrix(b, leadingDimension: ldb, transposed: transposeB),
         c: c, ldc: ldc, accumulate: accumulate, pool: pool)
}

/// The fast GEMM: C[M×N] = op(A)[M×K] · op(B)[K×N] (+ C when `accumulate`), then `epilogue`.
///
/// Either operand may be a `PackedMatrix` (a constant weight packed once). `kernel` selects the
/// register-tile kernel (tests and benchmarks run each one; the default is the fastest available).
public func gemm(m: Int, n: Int, k: Int, a: GEMMOperand, b: GEMMOperand,
                 c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false,
                 epilogue: GEMMEpilogue = .none, kernel: GEMMKernel = .preferred,
                 pool: ThreadPool = .current) {
    precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m \(m), n \(n), k \(k)")
    if m == 0 || n == 0 { return }
    precondition(ldc >= n, "gemm: ldc \(ldc) is smaller than n \(n)")
    if k == 0 {
        applyEpilogue(c: c, ldc: ldc, m: m, n: n, accumulate: accumulate, epilogue: epilogue)
        return
    }

    checkOperand(a, isA: true, outer: m, depth: k)
    checkOperand(b, isA: false, outer: n, depth: k)
    let threads = gemmThreadCount(m: m, n: n, k: k, pool: pool)
    let plan = GEMMPlan(m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate, epilogue: epilogue,
                        kernel: kernel, threads: threads)
    if !plan.swapped {
        plan.problem.run(schedule: plan.schedule, kernel: kernel, pool: pool)
    } else {
        let product = ScratchBuffer.gemmProduct.value.floats(m * n)
        var problem = plan.problem
        problem.c = product
        problem.run(schedule: plan.schedule, kernel: kernel, pool: pool)
        storeTransposed(product: product, c: c, ldc: ldc, m: m, n: n, accumulate: accumulate,
                        epilogue: epilogue, pool: pool, parallel: threads > 1)
    }
}

/// The orientation, oriented problem and thread split `gemm` runs.
struct GEMMPlan {
    /// True: computes Cᵀ[N×M] = op(B)ᵀ · op(A)ᵀ (into scratch, then transposed into C).
    var swapped: Bool
    var problem: GEMMProblem
    var schedule: GEMMSchedule

    init(m: Int, n: Int, k: Int, a: GEMMOperand, b: GEMMOperand, c: UnsafeMutablePointer<Float>, ldc: Int,
         accumulate: Bool, epilogue: GEMMEpilogue, kernel: GEMMKernel, threads: Int) {
        let aStrides = a.strides(isA: true), bStrides = b.strides(isA: false)
        // Normal orientation: tiles read op(A) in place, op(B) is packed.
        let normal = GEMMProblem(rows: m, columns: n, depth: k,
                                 a: a.pointer, aRowStride: aStrides.outer, aDepthStride: aStrides.depth,
                                 panels: panelSource(b, isA: false, kernel: kernel),
                                 c: c, cRowStride: ldc, addToC: accumulate, epilogue: epilogue)
        let normalSchedule = normal.schedule(kernel: kernel, threads: threads)
        // Swapped: tiles read op(B)ᵀ in place, op(A)ᵀ is packed; C' is an N×M scratch.
        let swapped = GEMMProblem(rows: n, columns: m, depth: k,
                                  a: b.pointer, aRowStride: bStrides.outer, aDepthStride: bStrides.depth,
                                  panels: panelSource(a, isA: true, kernel: kernel), c: c, cRowStride: m, addToC: false, epilogue: .none)
        var swappedSchedule = swapped.schedule(kernel: kernel, threads: threads)
        swappedSchedule.cost += Double(m * n) / Double(threads)
        // Near a tie, stay with the normal orientation: the swapped one reads op(B) across rows
        // (a cache line per depth step) and has a transposition the model only estimates.
        if normalSchedule.cost <= swappedSchedule.cost * 1.05 {
            (self.swapped, problem, schedule) = (false, normal, normalSchedule)
        } else {
            (self.swapped, problem, schedule) = (true, swapped, swappedSchedule)
        }
    }
}

/// The reference GEMM: a plain triple loop with a Double accumulator, then the epilogue.
public func gemmNaive(m: Int, n: Int, k: Int,
                      a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
                      b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
                      c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false,
                      epilogue: GEMMEpilogue = .none) {
    for i in 0..<m {
        for j in 0..<n {
            var total: Double = accumulate ? Double(c[i * ldc + j]) : 0
            for p in 0..<k {
                let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                total += Double(x) * Double(y)
            }
            if let rowBias = epilogue.rowBias { total += Double(rowBias[i]) }
            if let columnBias = epilogue.columnBias { total += Double(columnBias[j]) }
            if epilogue.relu { total = max(total, 0) }
            c[i * ldc + j] = epilogue.blockActivation.map { $0(Float(total)) } ?? Float(total)
        }
    }
}

// MARK: - Planning

/// Below this many multiply-adds a GEMM runs on one thread: waking a worker costs more.
let gemmParallelThreshold = 1 << 18

/// A one-thread pool for GEMMs that already run side by side on a pool's threads.
let gemmSerialPool = ThreadPool(threadCount: 1)

func gemmThreadCount(m: Int, n: Int, k: Int, pool: ThreadPool) -> Int {
    m * n * k < gemmParallelThreshold ? 1 : pool.threadCount
}

private func checkOperand(_ operand: GEMMOperand, isA: Bool, outer: Int, depth: Int) {
    let name = isA ? "A" : "B"
    if let packed = operand.packed {
        let (r, c) = operand.transposed ? (packed.columns, packed.rows) : (packed.rows, packed.columns)
        let expected = isA ? (outer, depth) : (depth, outer)
        precondition(r == expected.0 && c == expected.1,
                     "gemm: packed \(name) is \(packed.rows)×\(packed.columns)\(operand.transposed ? " (transposed)" : ""), expected op(\(name)) \(expected.0)×\(expected.1)")
    } else {
        // Stored rows: A is M×K (K×M transposed), B is K×N (N×K transposed).
        let storedColumns = isA ? (operand.transposed ? outer : depth) : (operand.transposed ? depth : outer)
        precondition(operand.leadingDimension >= max(storedColumns, 1),
                     "gemm: ld\(name.lowercased()) \(operand.leadingDimension) is smaller than the \(storedColumns) columns of stored \(name)")
    }
}

/// How the packed operand's panels are obtained. `isA`: the operand is A (so its panels are op(A)ᵀ).
private func panelSource(_ operand: GEMMOperand, isA: Bool, kernel: GEMMKernel) -> GEMMPanelSource {
    let strides = operand.strides(isA: isA)
    if let packed = operand.packed {
        // Panels walk the outer dimension: X's rows when op(X) = X is A, or op(X) = Xᵀ is B.
        return .packedMatrix(packed, alongRows: isA != operand.transposed)
    }
    return .matrix(operand.pointer, depthStride: strides.depth, widthStride: strides.outer)
}

// MARK: - Epilogue-only paths

/// C = relu?((accumulate ? C : 0) + biases), for K = 0.
private func applyEpilogue(c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, accumulate: Bool, epilogue: GEMMEpilogue) {
    for i in 0..<m {
        for j in 0..<n {
            var x = accumulate ? c[i * ldc + j] : 0
            if let rowBias = epilogue.rowBias { x += rowBias[i] }
            if let columnBias = epilogue.columnBias { x += columnBias[j] }
            if epilogue.relu { x = max(x, 0) }
            if let activation = epilogue.blockActivation { x = activation(x) }
            c[i * ldc + j] = x
        }
    }
}

/// C[i, j] = relu?(product[j, i] (+ C[i, j]) + biases), product being N×M row-major: 8×8 blocks
/// transposed in registers, the epilogue applied to whole rows of 8.
func storeTransposed(product: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int,
                     accumulate: Bool, epilogue: GEMMEpilogue, pool: ThreadPool, parallel: Bool) {
    typealias Vector = SIMD8<Float>
    func store(_ rows: Range<Int>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { buffer in
            let block = buffer.baseAddress!
            var i0 = rows.lowerBound
            while i0 < rows.upperBound {
                let height = min(8, rows.upperBound - i0)
                var j0 = 0
                while j0 < n {
                    let width = min(8, n - j0)
                    if height == 8 && width == 8 {
                        transpose8x8(product + j0 * m + i0, sourceStride: m, block, destinationStride: 8)
                        let columnBias = epilogue.columnBias.map { UnsafeRawPointer($0 + j0).loadUnaligned(as: Vector.self) }
                        for r in 0..<8 {
                            let target = UnsafeMutableRawPointer(c + (i0 + r) * ldc + j0)
                            // Unaligned: a temporary allocation of Float is only Float-aligned (under
                            // ThreadSanitizer's stack layout the aligned load trapped).
                            var x = UnsafeRawPointer(block + 8 * r).loadUnaligned(as: Vector.self)
                            if accumulate { x += target.loadUnaligned(as: Vector.self) }
                            if let rowBias = epilogue.rowBias { x += Vector(repeating: rowBias[i0 + r]) }
                            if let columnBias { x += columnBias }
                            if epilogue.relu { x = x.replacing(with: 0, where: x .< 0) }
                            target.storeBytes(of: x, as: Vector.self)
                        }
                    } else {
                        for i in i0..<(i0 + height) {
                            for j in j0..<(j0 + width) {
                                var x = product[j * m + i]
                                if accumulate { x += c[i * ldc + j] }
                                if let rowBias = epilogue.rowBias { x += rowBias[i] }
                                if let columnBias = epilogue.columnBias { x += columnBias[j] }
                                if epilogue.relu { x = max(x, 0) }
                                c[i * ldc + j] = x
                            }
                        }
                    }
                    j0 += 8
                }
                if let activation = epilogue.blockActivation {
                    applyBlockActivation(activation, c + i0 * ldc, rows: height, columns: n, rowStride: ldc)
                }
                i0 += 8
            }
        }
    }
    if parallel {
        // Chunks of whole 8-row blocks.
        let blocks = (m + 7) / 8
        pool.parallelChunks(blocks) { range in store((range.lowerBound * 8)..<min(range.upperBound * 8, m)) }
    } else {
        store(0..<m)
    }
}
