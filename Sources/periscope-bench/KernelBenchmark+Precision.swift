import Foundation
import Tensors

extension KernelBenchmark {
    /// Linear layers of MiniLM (seq 128) and ViT-B/16 at batch 8: rows (tokens) M, in K, out N.
    static let linearShapes: [(name: String, m: Int, k: Int, n: Int)] = [
        ("MiniLM q|k|v", 1024, 384, 1152), ("MiniLM out", 1024, 384, 384), ("MiniLM fc1", 1024, 384, 1536), ("MiniLM fc2", 1024, 1536, 384),
        ("ViT-B q|k|v", 1576, 768, 2304), ("ViT-B fc1", 1576, 768, 3072), ("ViT-B fc2", 1576, 3072, 768),
    ]

    /// What each reduced precision can gain on this CPU: the register-only throughput of its inner
    /// step against float32 FMA (the ratio r), then float32 against int8 and bfloat16 linear layers
    /// (with bias) at the shapes of MiniLM and ViT-B/16, interleaved, medians. bfloat16 is reported as
    /// not measurable where the CPU lacks the instruction, never as a number from an emulation.
    func runPrecision(pools: [Int: ThreadPool], floatPeakPerCore: Double) {
        print("")
        print("reduced precision — register-only peaks per core (median of \(options.repetitions)):")
        let quantizedKernel = QuantizedKernel.preferred
        // The three loops interleaved, each ratio taken within one repetition (what ran next to it),
        // so another process's load moves numerator and denominator alike; medians of the ratios.
        let hasBFloat16 = ComputePrecision.bfloat16.unavailableReason == nil
        var floatSamples: [Double] = [], int8Samples: [Double] = [], bfloat16Samples: [Double] = []
        var int8Ratios: [Double] = [], bfloat16Ratios: [Double] = []
        for _ in 0..<options.repetitions {
            let float32 = GEMMKernel.preferred.measurePeakGigaflops(seconds: 0.05)
            floatSamples.append(float32)
            if let ops = quantizedKernel.measurePeakGigaops(seconds: 0.05) { int8Samples.append(ops); int8Ratios.append(ops / float32) }
            if hasBFloat16, let flops = BFloat16GEMM.measurePeakGigaflops(seconds: 0.05) {
                bfloat16Samples.append(flops)
                bfloat16Ratios.append(flops / float32)
            }
        }
        print("  float32 FMA (\(GEMMKernel.preferred)): \(format(median(floatSamples), 1)) GFLOP/s "
              + "(measured with the others below; \(format(floatPeakPerCore, 1)) in the FMA section above)")
        var int8Peak: Double?
        if int8Samples.isEmpty {
            print("  int8 (\(quantizedKernel)): no register-only loop for this kernel")
        } else {
            let peak = median(int8Samples)
            int8Peak = peak
            print("  int8 \(quantizedKernel) — \(quantizedKernel.innerStep): \(format(peak, 1)) GOP/s, r = \(format(median(int8Ratios), 2))")
        }
        var bfloat16Peak: Double?
        if let reason = ComputePrecision.bfloat16.unavailableReason {
            print("  bfloat16 (vdpbf16ps): not measured — \(reason)")
        } else if !bfloat16Samples.isEmpty {
            let peak = median(bfloat16Samples)
            bfloat16Peak = peak
            print("  bfloat16 pairs, vdpbf16ps into float32: \(format(peak, 1)) GFLOP/s, r = \(format(median(bfloat16Ratios), 2))")
        }

        var generator = SeededGenerator(seed: 7)
        let layers = Self.linearShapes.map { shape in
            let weight = Tensor.uniform([shape.n, shape.k], in: -0.1...0.1, using: &generator)
            return (x: Tensor.uniform([shape.m, shape.k], in: -1...1, using: &generator), packed: PackedMatrix(weight),
                    quantized: QuantizedMatrix(weight), bfloat16: bfloat16Peak == nil ? nil : BFloat16Matrix(weight),
                    bias: Tensor.uniform([shape.n], in: -1...1, using: &generator))
        }
        var float32 = [[Int: [Double]]](repeating: [:], count: layers.count), int8 = float32, bfloat16 = float32
        for _ in 0..<options.repetitions {
            for (index, layer) in layers.enumerated() {
                for threads in options.threadCounts {
                    let pool = pools[threads]!
                    ThreadPool.withCurrent(pool) {
                        float32[index][threads, default: []].append(measure { _ = Tensor.linear(layer.x, packedWeight: layer.packed, bias: layer.bias) })
                        int8[index][threads, default: []].append(measure {
                            _ = Tensor.linear(layer.x, quantizedWeight: layer.quantized, bias: layer.bias, kernel: quantizedKernel, pool: pool)
                        })
                        if let weight = layer.bfloat16 {
                            bfloat16[index][threads, default: []].append(measure {
                                _ = Tensor.linear(layer.x, bfloat16Weight: weight, bias: layer.bias, pool: pool)
                            })
                        }
                    }
                }
            }
        }
        print("")
        print("linear x·Wᵀ + b, float32 against int8 (dynamic: rows quantized in the call), ms per call (median)"
              + (int8Peak == nil ? "" : "; int8 % of the int8 peak × threads"))
        let header = ["layer M×K→N"] + options.threadCounts.flatMap { ["f32 \($0)t", "int8 \($0)t", "speed-up \($0)t", "int8 %peak \($0)t"] }
        var rows: [[String]] = []
        for (index, shape) in Self.linearShapes.enumerated() {
            var row = ["\(shape.name) \(shape.m)×\(shape.k)→\(shape.n)"]
            for threads in options.threadCounts {
                let f = median(float32[index][threads]!), q = median(int8[index][threads]!)
                let ops = 2.0 * Double(shape.m) * Double(shape.k) * Double(shape.n)
                row += [format(f * 1e3, 3), format(q * 1e3, 3), format(f / q, 2) + "×",
                        int8Peak.map { format(100 * ops / q * 1e-9 / ($0 * Double(threads)), 0) + "%" } ?? "n/a"]
            }
            rows.append(row)
        }
        printTable(header: header, rows: rows)
        guard let bfloat16Peak else { return }
        print("")
        print("linear x·Wᵀ + b, float32 against bfloat16 (rows converted in the call), ms per call (median); "
              + "bf16 % of the bf16 peak × threads")
        let bfloat16Header = ["layer M×K→N"] + options.threadCounts.flatMap { ["f32 \($0)t", "bf16 \($0)t", "speed-up \($0)t", "bf16 %peak \($0)t"] }
        var bfloat16Rows: [[String]] = []
        for (index, shape) in Self.linearShapes.enumerated() {
            var row = ["\(shape.name) \(shape.m)×\(shape.k)→\(shape.n)"]
            for threads in options.threadCounts {
                let f = median(float32[index][threads]!), b = median(bfloat16[index][threads]!)
                let flops = 2.0 * Double(shape.m) * Double(shape.k) * Double(shape.n)
                row += [format(f * 1e3, 3), format(b * 1e3, 3), format(f / b, 2) + "×",
                        format(100 * flops / b * 1e-9 / (bfloat16Peak * Double(threads)), 0) + "%"]
            }
            bfloat16Rows.append(row)
        }
        printTable(header: bfloat16Header, rows: bfloat16Rows)
    }
}
