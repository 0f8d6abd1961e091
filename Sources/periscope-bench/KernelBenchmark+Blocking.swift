import Foundation
import Tensors

extension KernelBenchmark {
    /// Shapes whose B is a weight packed once (`PackedMatrix`), as in a model's Linear layers:
    /// M×N×K for MiniLM and DINOv2-small (N = 1536 and K = 1536) and ViT-B/16 at batch 1.
    static let packedWeightShapes: [(m: Int, n: Int, k: Int)] = [(128, 1536, 384), (128, 384, 1536), (257, 1536, 384), (197, 3072, 768)]

    /// Candidate GEMM blockings measured side by side in one process: each repetition runs every
    /// candidate once per shape and thread count, in turn, so a noisy machine slows them alike.
    /// Reports GFLOP/s per candidate and its ratio to the derived blocking `gemm` uses.
    func runBlocking(pools: [Int: ThreadPool], kernel: GEMMKernel) {
        let derived = GEMMBlocking.derived(kernel: kernel, level1Bytes: CPUCache.level1DataBytes, level2Bytes: CPUCache.level2Bytes)
        var candidates = [derived]
        for depth in [256, 512, 1024, 4608] {
            for panels in [4, 8, 16, 24] where !candidates.contains(GEMMBlocking(depth: depth, panels: panels)) {
                candidates.append(GEMMBlocking(depth: depth, panels: panels))
            }
        }
        print("")
        print("GEMM blocking (\(kernel) kernel; L1d \(CPUCache.level1DataBytes >> 10) KiB, L2 \(CPUCache.level2Bytes >> 10) KiB): derived \(derived)")
        var generator = SeededGenerator(seed: 3)
        struct Case { var label: String; var m: Int; var n: Int; var k: Int; var a: Tensor; var b: Tensor; var packed: PackedMatrix?; var c: Tensor }
        var cases: [Case] = Self.gemmShapes.map { shape in
            Case(label: "\(shape.m)×\(shape.n)×\(shape.k)", m: shape.m, n: shape.n, k: shape.k,
                 a: Tensor.uniform([shape.m, shape.k], in: -1...1, using: &generator),
                 b: Tensor.uniform([shape.k, shape.n], in: -1...1, using: &generator), packed: nil, c: Tensor(zeros: [shape.m, shape.n]))
        }
        cases += Self.packedWeightShapes.map { shape in
            let weight = Tensor.uniform([shape.n, shape.k], in: -1...1, using: &generator)
            return Case(label: "\(shape.m)×\(shape.n)×\(shape.k) W", m: shape.m, n: shape.n, k: shape.k,
                        a: Tensor.uniform([shape.m, shape.k], in: -1...1, using: &generator),
                        b: weight, packed: PackedMatrix(weight), c: Tensor(zeros: [shape.m, shape.n]))
        }
        // samples[case][threads][candidate]
        var samples = [[Int: [[Double]]]](repeating: [:], count: cases.count)
        for _ in 0..<options.repetitions {
            for (index, item) in cases.enumerated() {
                for threads in options.threadCounts {
                    var perCandidate = samples[index][threads] ?? Array(repeating: [], count: candidates.count)
                    for (candidateIndex, candidate) in candidates.enumerated() {
                        GEMMBlocking.override.withLock { $0 = candidate }
                        var c = item.c
                        let seconds = item.a.withFloats { a in
                            item.b.withFloats { b in
                                c.withMutableFloats { c in
                                    measure {
                                        let bOperand: GEMMOperand = item.packed.map { .packed($0, transposed: true) }
                                            ?? .matrix(b.baseAddress!, leadingDimension: item.n)
                                        gemm(m: item.m, n: item.n, k: item.k, a: .matrix(a.baseAddress!, leadingDimension: item.k),
                                             b: bOperand, c: c.baseAddress!, ldc: item.n, kernel: kernel, pool: pools[threads]!)
                                    }
                                }
                            }
                        }
                        perCandidate[candidateIndex].append(seconds)
                    }
                    samples[index][threads] = perCandidate
                }
            }
        }
        GEMMBlocking.override.withLock { $0 = nil }

        for threads in options.threadCounts {
            print("")
            print("\(threads) thread(s): GFLOP/s of the derived blocking, then each candidate's median time ratio derived/candidate (> 1: faster than derived)")
            let header = ["shape M×N×K", "derived"] + candidates.dropFirst().map { "\($0.depth)/\($0.panels)" }
            var rows: [[String]] = []
            var logSums = [Double](repeating: 0, count: candidates.count)
            for (index, item) in cases.enumerated() {
                let times = samples[index][threads]!.map(median)
                let flops = 2.0 * Double(item.m) * Double(item.n) * Double(item.k)
                rows.append([item.label, format(flops / times[0] * 1e-9, 1)] + times.dropFirst().map { format(times[0] / $0, 2) })
                for (candidateIndex, time) in times.enumerated() { logSums[candidateIndex] += log(times[0] / time) }
            }
            rows.append(["geometric mean", "1.00"] + logSums.dropFirst().map { format(exp($0 / Double(cases.count)), 2) })
            printTable(header: header, rows: rows)
        }
    }
}
