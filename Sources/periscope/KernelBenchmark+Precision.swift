import Foundation
import Tensors

extension KernelBenchmark {
    /// Linear layers of MiniLM (seq 128) and ViT-B/16 at batch 8: rows (tokens) M, in K, out N.
    static let linearShapes: [(name: String, m: Int, k: Int, n: Int)] = [
        ("MiniLM q|k|v", 1024, 384, 1152), ("MiniLM out", 1024, 384, 384), ("MiniLM fc1", 1024, 384, 1536), ("MiniLM fc2", 1024, 1536, 384),
        ("ViT-B q|k|v", 1576, 768, 2304), ("ViT-B fc1", 1576, 768, 3072), ("ViT-B fc2", 1576, 3072, 768),
    ]

    /// What each reduced precision can gain on this CPU: the register-only throughput of its inner
    /// step against float32 FMA (the ratio r), then float32 against int8 linear layers (with bias)
    /// at the shapes of MiniLM and ViT-B/16, interleaved, medians. bfloat16 is reported as not
    /// measurable where the CPU lacks the instruction, never as a number from an emulation.
    func runPrecision(pools: [Int: ThreadPool], floatPeakPerCore: Double) {
        print("")
        print("reduced precision — register-only peaks per core (median of \(options.repetitions)):")
        // Every int8 kernel this CPU has (they give identical results), fastest first.
        let quantizedKernels = QuantizedKernel.available.filter { $0 != .portable }.nilIfEmpty ?? [.portable]
        print("  float32 FMA (\(GEMMKernel.preferred)): \(format(floatPeakPerCore, 1)) GFLOP/s")
        var int8Peaks: [QuantizedKernel: Double] = [:]
        for kernel in quantizedKernels {
            let samples = (0..<options.repetitions).compactMap { _ in kernel.measurePeakGigaops(seconds: 0.05) }
            if samples.isEmpty {
                print("  int8 (\(kernel)): no register-only loop for this kernel")
            } else {
                int8Peaks[kernel] = median(samples)
                print("  int8 \(kernel) — \(kernel.innerStep): \(format(median(samples), 1)) GOP/s, r = \(format(median(samples) / floatPeakPerCore, 2))")
            }
        }
        if let reason = ComputePrecision.bfloat16.unavailableReason {
            print("  bfloat16 (vdpbf16ps): not measured — \(reason)")
        }

        var generator = SeededGenerator(seed: 7)
        let layers = Self.linearShapes.map { shape in
            let weight = Tensor.uniform([shape.n, shape.k], in: -0.1...0.1, using: &generator)
            return (x: Tensor.uniform([shape.m, shape.k], in: -1...1, using: &generator), packed: PackedMatrix(weight),
                    quantized: QuantizedMatrix(weight), bias: Tensor.uniform([shape.n], in: -1...1, using: &generator))
        }
        var float32 = [[Int: [Double]]](repeating: [:], count: layers.count)
        var int8 = [QuantizedKernel: [[Int: [Double]]]]()
        for _ in 0..<options.repetitions {
            for (index, layer) in layers.enumerated() {
                for threads in options.threadCounts {
                    let pool = pools[threads]!
                    ThreadPool.withCurrent(pool) {
                        float32[index][threads, default: []].append(measure { _ = Tensor.linear(layer.x, packedWeight: layer.packed, bias: layer.bias) })
                        for kernel in quantizedKernels {
                            let seconds = measure {
                                _ = Tensor.linear(layer.x, quantizedWeight: layer.quantized, bias: layer.bias, kernel: kernel, pool: pool)
                            }
                            int8[kernel, default: Array(repeating: [:], count: layers.count)][index][threads, default: []].append(seconds)
                        }
                    }
                }
            }
        }
        for kernel in quantizedKernels {
            let int8Peak = int8Peaks[kernel]
            print("")
            print("linear x·Wᵀ + b, float32 against int8 \(kernel) (dynamic: rows quantized in the call), ms per call (median)"
                  + (int8Peak == nil ? "" : "; int8 % of the int8 peak × threads"))
            let header = ["layer M×K→N"] + options.threadCounts.flatMap { ["f32 \($0)t", "int8 \($0)t", "speed-up \($0)t", "int8 %peak \($0)t"] }
            var rows: [[String]] = []
            for (index, shape) in Self.linearShapes.enumerated() {
                var row = ["\(shape.name) \(shape.m)×\(shape.k)→\(shape.n)"]
                for threads in options.threadCounts {
                    let f = median(float32[index][threads]!), q = median(int8[kernel]![index][threads]!)
                    let ops = 2.0 * Double(shape.m) * Double(shape.k) * Double(shape.n)
                    row += [format(f * 1e3, 3), format(q * 1e3, 3), format(f / q, 2) + "×",
                            int8Peak.map { format(100 * ops / q * 1e-9 / ($0 * Double(threads)), 0) + "%" } ?? "n/a"]
                }
                rows.append(row)
            }
            printTable(header: header, rows: rows)
        }
    }
}

private extension Array {
    var nilIfEmpty: Self? { isEmpty ? nil : self }
}
