import Testing
@testable import Tensors
import TestSupport

/// Shared pools: one serial, one with two threads (the machine's core count) so the split paths run.
private let serialPool = ThreadPool(threadCount: 1)
private let twoThreadPool = ThreadPool(threadCount: 2)

/// One GEMM problem: sizes, transposes, and extra leading-dimension padding.
struct GEMMShape: Sendable, CustomTestStringConvertible {
    var m: Int, n: Int, k: Int
    var padding = 0

    var testDescription: String { "\(m)×\(n)×\(k)\(padding > 0 ? " +\(padding)" : "")" }
}

private func randomFloats(_ count: Int, seed: UInt64) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in generator.nextUnitFloat() * 2 - 1 }
}

/// Runs `gemm` and `gemmNaive` on the same random operands; returns the largest error relative
/// to max(1, largest |expected|).
private func gemmError(_ shape: GEMMShape, transposeA: Bool, transposeB: Bool, kernel: GEMMKernel, pool: ThreadPool,
                       accumulate: Bool = false, rowBias: Bool = false, columnBias: Bool = false, relu: Bool = false,
                       activation: FusedActivation? = nil, packA: Bool = false, packB: Bool = false, seed: UInt64 = 1) -> Float {
    let (m, n, k) = (shape.m, shape.n, shape.k)
    // Stored shapes: A is M×K (K×M transposed), B is K×N (N×K transposed).
    let (aRows, aColumns) = transposeA ? (k, m) : (m, k)
    let (bRows, bColumns) = transposeB ? (n, k) : (k, n)
    // Packed operands are dense (their leading dimension is their width).
    let lda = aColumns + (packA ? 0 : shape.padding), ldb = bColumns + (packB ? 0 : shape.padding), ldc = n + shape.padding
    let a = randomFloats(max(aRows * lda, 1), seed: seed), b = randomFloats(max(bRows * ldb, 1), seed: seed + 1)
    let start = randomFloats(max(m * ldc, 1), seed: seed + 2)
    let rows = randomFloats(max(m, 1), seed: seed + 3), columns = randomFloats(max(n, 1), seed: seed + 4)
    var expected = start, actual = start
    rows.withUnsafeBufferPointer { rowValues in
        columns.withUnsafeBufferPointer { columnValues in
            let epilogue = GEMMEpilogue(rowBias: rowBias ? rowValues.baseAddress : nil,
                                        columnBias: columnBias ? columnValues.baseAddress : nil,
                                        activation: activation ?? (relu ? .relu : .none))
            gemmNaive(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb, transposeB: transposeB,
                      c: &expected, ldc: ldc, accumulate: accumulate, epilogue: epilogue)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    let operandA: GEMMOperand = packA
                        ? .packed(PackedMatrix(Tensor(shape: [aRows, aColumns], scalars: Array(a.prefix(aRows * aColumns)))), transposed: transposeA)
                        : .matrix(pa.baseAddress!, leadingDimension: lda, transposed: transposeA)
                    let operandB: GEMMOperand = packB
                        ? .packed(PackedMatrix(Tensor(shape: [bRows, bColumns], scalars: Array(b.prefix(bRows * bColumns)))), transposed: transposeB)
                        : .matrix(pb.baseAddress!, leadingDimension: ldb, transposed: transposeB)
                    actual.withUnsafeMutableBufferPointer { pc in
                        gemm(m: m, n: n, k: k, a: operandA, b: operandB, c: pc.baseAddress!, ldc: ldc,
                             accumulate: accumulate, epilogue: epilogue, kernel: kernel, pool: pool)
                    }
                }
            }
        }
    }
    var worst: Float = 0, scale: Float = 1
    for i in 0..<m {
        for j in 0..<ldc {
            let index = i * ldc + j
            if j >= n {
                // Padding past column N must be untouched.
                if actual[index] != start[index] { return .infinity }
                continue
            }
            scale = max(scale, abs(expected[index]))
            worst = max(worst, abs(actual[index] - expected[index]))
        }
    }
    return worst / scale
}

private let transposes: [(Bool, Bool)] = [(false, false), (true, false), (false, true), (true, true)]

@Suite struct GEMMTests {
    /// Odd shapes: 1, primes, non-multiples of every tile size, N or M = 1, large K, padded strides.
    static let shapes: [GEMMShape] = [
        GEMMShape(m: 1, n: 1, k: 1), GEMMShape(m: 1, n: 37, k: 5), GEMMShape(m: 29, n: 1, k: 7),
        GEMMShape(m: 6, n: 64, k: 16), GEMMShape(m: 7, n: 65, k: 3, padding: 5), GEMMShape(m: 13, n: 17, k: 19, padding: 3),
        GEMMShape(m: 31, n: 97, k: 53), GEMMShape(m: 97, n: 5, k: 41, padding: 1), GEMMShape(m: 3, n: 131, k: 29),
        GEMMShape(m: 5, n: 9, k: 4608), GEMMShape(m: 11, n: 70, k: 777, padding: 2),
    ]

    @Test(arguments: GEMMKernel.available, shapes)
    func matchesNaiveForEveryTranspose(kernel: GEMMKernel, shape: GEMMShape) {
        for (transposeA, transposeB) in transposes {
            let error = gemmError(shape, transposeA: transposeA, transposeB: transposeB, kernel: kernel, pool: serialPool)
            #expect(error < 1e-5, "transposeA \(transposeA) transposeB \(transposeB): error \(error)")
        }
    }

    @Test(arguments: GEMMKernel.available, [GEMMShape(m: 7, n: 33, k: 20, padding: 2), GEMMShape(m: 45, n: 4, k: 9)])
    func accumulatesIntoC(kernel: GEMMKernel, shape: GEMMShape) {
        for (transposeA, transposeB) in transposes {
            let error = gemmError(shape, transposeA: transposeA, transposeB: transposeB, kernel: kernel, pool: serialPool, accumulate: true)
            #expect(error < 1e-5, "transposeA \(transposeA) transposeB \(transposeB): error \(error)")
        }
    }

    /// Row bias (conv + folded BN), column bias (linear), ReLU, with and without accumulation, in
    /// both orientations (a wide N runs as is, a skinny N runs transposed) and across depth blocks.
    @Test(arguments: GEMMKernel.available, [GEMMShape(m: 9, n: 70, k: 13, padding: 1), GEMMShape(m: 70, n: 3, k: 11),
                                            GEMMShape(m: 8, n: 40, k: 900), GEMMShape(m: 600, n: 9, k: 400, padding: 2),
                                            GEMMShape(m: 600, n: 12, k: 400)])
    func epilogueAddsBiasesThenReLU(kernel: GEMMKernel, shape: GEMMShape) {
        for (rowBias, columnBias, relu, accumulate) in [(true, false, true, false), (false, true, false, false),
                                                        (true, true, true, true), (false, false, true, true)] {
            let error = gemmError(shape, transposeA: false, transposeB: true, kernel: kernel, pool: serialPool,
                                  accumulate: accumulate, rowBias: rowBias, columnBias: columnBias, relu: relu)
            #expect(error < 1e-5, "rowBias \(rowBias) columnBias \(columnBias) relu \(relu) accumulate \(accumulate): error \(error)")
        }
        // SiLU and GELU instead of ReLU, applied block by block after the last depth step (and in the transposed store).
        for (rowBias, columnBias, accumulate, activation) in [(true, false, false, FusedActivation.silu), (false, true, true, .silu),
                                                              (false, true, false, .gelu(.none)), (true, true, true, .gelu(.tanh))] {
            let error = gemmError(shape, transposeA: false, transposeB: true, kernel: kernel, pool: twoThreadPool,
                                  accumulate: accumulate, rowBias: rowBias, columnBias: columnBias, activation: activation)
            #expect(error < 1e-5, "\(activation) rowBias \(rowBias) columnBias \(columnBias) accumulate \(accumulate): error \(error)")
        }
    }

    /// Any blocking gives the same product: short depth blocks and two panels per block (many
    /// blocks of each kind), plain and packed B, serial and split. The override is process-wide, so
    /// GEMMs of tests running meanwhile take it too, which must not change their results either.
    @Test(arguments: GEMMKernel.available)
    func shortBlocksMatchNaive(kernel: GEMMKernel) {
        GEMMBlocking.override.withLock { $0 = GEMMBlocking(depth: 128, panels: 2) }
        defer { GEMMBlocking.override.withLock { $0 = nil } }
        for shape in [GEMMShape(m: 40, n: 150, k: 777, padding: 1), GEMMShape(m: 130, n: 70, k: 300)] {
            for pool in [serialPool, twoThreadPool] {
                for packB in [false, true] {
                    let error = gemmError(shape, transposeA: false, transposeB: true, kernel: kernel, pool: pool,
                                          columnBias: true, relu: true, packB: packB)
                    #expect(error < 1e-5, "\(shape.testDescription) threads \(pool.threadCount) packB \(packB): error \(error)")
                }
            }
        }
    }

    /// A `PackedMatrix` as A or B, plain or transposed, in both orientations.
    @Test(arguments: GEMMKernel.available, [GEMMShape(m: 10, n: 67, k: 21), GEMMShape(m: 67, n: 2, k: 30), GEMMShape(m: 1, n: 19, k: 40)])
    func packedOperandsMatchNaive(kernel: GEMMKernel, shape: GEMMShape) {
        for (transposeA, transposeB) in transposes {
            for (packA, packB) in [(true, false), (false, true), (true, true)] {
                let error = gemmError(shape, transposeA: transposeA, transposeB: transposeB, kernel: kernel, pool: serialPool,
                                      columnBias: true, relu: true, packA: packA, packB: packB)
                #expect(error < 1e-5, "transposeA \(transposeA) transposeB \(transposeB) packA \(packA) packB \(packB): error \(error)")
            }
        }
    }

    /// Big enough to be split between two threads, in both orientations.
    @Test(arguments: GEMMKernel.available, [GEMMShape(m: 70, n: 100, k: 60, padding: 3), GEMMShape(m: 200, n: 6, k: 250),
                                            GEMMShape(m: 13, n: 300, k: 90)])
    func twoThreadsMatchNaive(kernel: GEMMKernel, shape: GEMMShape) {
        #expect(shape.m * shape.n * shape.k >= gemmParallelThreshold)
        for (transposeA, transposeB) in transposes {
            let error = gemmError(shape, transposeA: transposeA, transposeB: transposeB, kernel: kernel, pool: twoThreadPool,
                                  rowBias: true, relu: true)
            #expect(error < 1e-5, "transposeA \(transposeA) transposeB \(transposeB): error \(error)")
        }
    }

    /// Every split the scheduler can pick (by column panels, by row tiles), forced, on 2 threads.
    @Test(arguments: GEMMKernel.available, [true, false])
    func everySplitMatchesNaive(kernel: GEMMKernel, byColumns: Bool) {
        let (m, n, k) = (41, 3 * kernel.panelWidth + 5, 37)
        let a = randomFloats(m * k, seed: 7), b = randomFloats(k * n, seed: 8), bias = randomFloats(n, seed: 9)
        var expected = [Float](repeating: 0, count: m * n), actual = expected
        bias.withUnsafeBufferPointer { pbias in
            let epilogue = GEMMEpilogue(columnBias: pbias.baseAddress, relu: true)
            gemmNaive(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &expected, ldc: n, epilogue: epilogue)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    actual.withUnsafeMutableBufferPointer { pc in
                        let problem = GEMMProblem(rows: m, columns: n, depth: k, a: pa.baseAddress!, aRowStride: k, aDepthStride: 1,
                                                  panels: .matrix(pb.baseAddress!, depthStride: n, widthStride: 1),
                                                  c: pc.baseAddress!, cRowStride: n, addToC: false, epilogue: epilogue)
                        let panels = (n + kernel.panelWidth - 1) / kernel.panelWidth
                        let tiles = (m + kernel.tileRows - 1) / kernel.tileRows
                        let cuts = byColumns ? [0, panels / 2, panels] : [0, tiles / 2, tiles]
                        problem.run(schedule: GEMMSchedule(threads: 2, byColumns: byColumns, cuts: cuts, cost: 0),
                                    kernel: kernel, pool: twoThreadPool)
                    }
                }
            }
        }
        let worst = zip(actual, expected).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-4)
    }

    /// The last 1–8 columns through the dot-product kernel (forced), from a plain matrix read in
    /// place or gathered, and from a packed matrix, on 1 and 2 threads, with every epilogue part.
    @Test(arguments: GEMMKernel.available, [1, 3, 4, 5, 8])
    func remainderColumnsMatchNaive(kernel: GEMMKernel, remainder: Int) {
        let (m, k) = (23, 45)
        let n = kernel.vectorLanes + remainder
        let a = randomFloats(m * k, seed: 21), b = randomFloats(k * n, seed: 22)
        let rowBias = randomFloats(m, seed: 23), columnBias = randomFloats(n, seed: 24)
        let packedB = PackedMatrix(Tensor(shape: [n, k], scalars: (0..<(n * k)).map { b[($0 % k) * n + $0 / k] }))  // Bᵀ stored N×K
        var expected = [Float](repeating: 0, count: m * n)
        rowBias.withUnsafeBufferPointer { r in
            columnBias.withUnsafeBufferPointer { col in
                let epilogue = GEMMEpilogue(rowBias: r.baseAddress, columnBias: col.baseAddress, relu: true)
                gemmNaive(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &expected, ldc: n, epilogue: epilogue)
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        let transposedB = (0..<(n * k)).map { b[($0 % k) * n + $0 / k] }
                        transposedB.withUnsafeBufferPointer { pbt in
                            let sources: [(String, GEMMPanelSource)] = [
                                ("strided columns", .matrix(pb.baseAddress!, depthStride: n, widthStride: 1)),
                                ("contiguous columns", .matrix(pbt.baseAddress!, depthStride: 1, widthStride: k)),
                                ("packed", .packedMatrix(packedB, alongRows: true)),
                            ]
                            for (name, source) in sources {
                                for pool in [serialPool, twoThreadPool] {
                                    var actual = [Float](repeating: .nan, count: m * n)
                                    actual.withUnsafeMutableBufferPointer { pc in
                                        let problem = GEMMProblem(rows: m, columns: n, depth: k, a: pa.baseAddress!, aRowStride: k, aDepthStride: 1,
                                                                  panels: source, c: pc.baseAddress!, cRowStride: n, addToC: false, epilogue: epilogue)
                                        let panels = (n - remainder + kernel.panelWidth - 1) / kernel.panelWidth
                                        let threads = pool.threadCount
                                        let cuts = threads == 1 ? [0, panels] : [0, panels, panels]
                                        problem.run(schedule: GEMMSchedule(threads: threads, byColumns: true, cuts: cuts,
                                                                           remainderColumns: remainder, cost: 0),
                                                    kernel: kernel, pool: pool)
                                    }
                                    let worst = zip(actual, expected).map { abs($0 - $1) }.max()!
                                    #expect(worst < 1e-4, "\(name), \(pool.threadCount) threads: error \(worst)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test func schedulerUsesTheDotKernelForASkinnyRemainder() {
        // 512×49×4608 (ResNet-50's last 3×3 as a GEMM): 48 columns in tiles, the 49th as dot products.
        let kernel = GEMMKernel.avx512
        let a = [Float](repeating: 0, count: 1), b = [Float](repeating: 0, count: 1)
        var c = [Float](repeating: 0, count: 1)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    let problem = GEMMProblem(rows: 512, columns: 49, depth: 4608, a: pa.baseAddress!, aRowStride: 4608, aDepthStride: 1,
                                              panels: .matrix(pb.baseAddress!, depthStride: 49, widthStride: 1),
                                              c: pc.baseAddress!, cRowStride: 49, addToC: false, epilogue: .none)
                    #expect(problem.schedule(kernel: kernel, threads: 1).remainderColumns == 1)
                    #expect(problem.schedule(kernel: kernel, threads: 2).remainderColumns == 1)
                }
            }
        }
    }

    /// A skinny N runs swapped (so the epilogue tests above cover the transposed store; B is stored
    /// transposed there, as a linear layer's weight), a wide N does not.
    @Test(arguments: GEMMKernel.available)
    func orientationFollowsTheShape(kernel: GEMMKernel) {
        let a = [Float](repeating: 0, count: 1), b = [Float](repeating: 0, count: 1)
        var c = [Float](repeating: 0, count: 1)
        func swapped(_ m: Int, _ n: Int, _ k: Int, transposeB: Bool) -> Bool {
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        GEMMPlan(m: m, n: n, k: k, a: .matrix(pa.baseAddress!, leadingDimension: k),
                                 b: .matrix(pb.baseAddress!, leadingDimension: transposeB ? k : n, transposed: transposeB),
                                 c: pc.baseAddress!, ldc: n, accumulate: false, epilogue: .none, kernel: kernel, threads: 1).swapped
                    }
                }
            }
        }
        // (The AVX2 plan computes a 9th column with its dot-product kernel instead.)
        #expect(swapped(600, kernel == .avx2 ? 12 : 9, 400, transposeB: true))
        #expect(!swapped(9, 70, 13, transposeB: false))
        #expect(!swapped(512, 512, 512, transposeB: false))
        #expect(!swapped(512, 512, 512, transposeB: true))
    }

    @Test func schedulerSplitsBigProblemsEvenly() {
        let kernel = GEMMKernel.portable
        let a = [Float](repeating: 0, count: 1), b = [Float](repeating: 0, count: 1)
        var c = [Float](repeating: 0, count: 1)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    let problem = GEMMProblem(rows: 512, columns: 512, depth: 512, a: pa.baseAddress!, aRowStride: 0, aDepthStride: 0,
                                              panels: .matrix(pb.baseAddress!, depthStride: 0, widthStride: 1),
                                              c: pc.baseAddress!, cRowStride: 0, addToC: false, epilogue: .none)
                    let serial = problem.schedule(kernel: kernel, threads: 1)
                    let parallel = problem.schedule(kernel: kernel, threads: 2)
                    #expect(serial.threads == 1)
                    #expect(parallel.threads == 2)
                    #expect(parallel.cost < serial.cost * 0.52)
                }
            }
        }
    }

    @Test(arguments: GEMMKernel.available)
    func emptyAndZeroDepthProducts(kernel: GEMMKernel) {
        // K = 0: C = relu((accumulate ? C : 0) + biases).
        let rowBias: [Float] = [1, -2], columnBias: [Float] = [0.5, -0.25, 3]
        var c: [Float] = [1, 2, 3, 4, 5, 6]
        let a: [Float] = [0], b: [Float] = [0]
        rowBias.withUnsafeBufferPointer { r in
            columnBias.withUnsafeBufferPointer { col in
                gemm(m: 2, n: 3, k: 0, a: .matrix(a, leadingDimension: 1), b: .matrix(b, leadingDimension: 3), c: &c, ldc: 3,
                     accumulate: true, epilogue: GEMMEpilogue(rowBias: r.baseAddress, columnBias: col.baseAddress, relu: true),
                     kernel: kernel, pool: serialPool)
            }
        }
        #expect(c == [2.5, 2.75, 7, 2.5, 2.75, 7])
        // M = 0 or N = 0 writes nothing.
        var untouched: [Float] = [9]
        gemm(m: 0, n: 1, k: 3, a: .matrix(a, leadingDimension: 3), b: .matrix(b, leadingDimension: 1), c: &untouched, ldc: 1, kernel: kernel)
        gemm(m: 1, n: 0, k: 3, a: .matrix(a, leadingDimension: 3), b: .matrix(b, leadingDimension: 1), c: &untouched, ldc: 1, kernel: kernel)
        #expect(untouched == [9])
    }

    @Test func kernelsAvailableOnThisCPU() {
        #expect(GEMMKernel.available.last == .portable)
        #expect(GEMMKernel.available.contains(GEMMKernel.preferred))
        #if arch(x86_64)
        if CPUFeatures.current.contains(["avx512f", "avx512dq", "avx512bw", "avx512vl"]) {
            #expect(GEMMKernel.available.first == .avx512)
        }
        #else
        #expect(GEMMKernel.available == [.portable])
        #endif
    }
}
