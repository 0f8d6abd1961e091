import Foundation
import Tensors

/// The kernel benchmark behind `periscope bench kernels`.
///
/// For every GEMM shape it times this engine and numpy (OpenBLAS, run with `OPENBLAS_CORETYPE`
/// and `OPENBLAS_L2_SIZE` removed so it picks its AVX-512 kernel) at 1 and 2 threads, interleaving
/// the two so background noise hits both, and reports medians and the ratio. For the ResNet-50
/// 3×3 convolutions it reports GFLOP/s and the share of the FMA peak measured in the same run, and
/// the time of every convolution path on ResNet's 3×3 layers with the one `conv2d` chooses, the
/// depthwise convolutions of EfficientNet-B0 (`runDepthwise`); then
/// what reduced precision can gain here (`runPrecision`).
struct KernelBenchmark {
    enum Section: String { case gemm, blocking, conv, paths, depthwise, precision }

    struct Options {
        var repetitions = 7
        var secondsPerMeasurement = 0.08
        var compareWithNumpy = true
        var sections: [Section] = [.gemm, .conv, .paths, .depthwise, .precision]
        var threadCounts = [1, 2]
    }

    /// M×N×K.
    static let gemmShapes: [(m: Int, n: Int, k: Int)] = [
        (512, 512, 512), (2048, 2048, 2048), (64, 3136, 576), (512, 49, 4608), (128, 384, 384), (128, 1536, 384),
        // ConvNeXt-T's MLP Linears at batch 1: stage 1 (K = 96 and N = 96) and stage 4.
        (3136, 384, 96), (3136, 96, 384), (49, 3072, 768),
    ]

    /// ResNet-50's 3×3 convolutions: channels in = out, spatial size, batch 1, padding 1.
    static let convolutionLayers: [(channels: Int, size: Int)] = [(64, 56), (128, 28), (256, 14), (512, 7)]


    let options: Options

    func run() throws {
        let kernel = GEMMKernel.preferred
        let pools = Dictionary(uniqueKeysWithValues: options.threadCounts.map { ($0, ThreadPool(threadCount: $0)) })
        defer { pools.values.forEach { $0.shutdown() } }

        print("periscope bench kernels — \(cpuModel()), GEMM kernel \(kernel) (available: \(GEMMKernel.available.map(\.rawValue).joined(separator: ", ")))")
        print("load average at start: \(loadAverage())   medians of \(options.repetitions) interleaved repetitions")
        // The peaks are measured like everything else: once per repetition, medians reported.
        var peakSamples: [Int: [Double]] = [:], kernelPeakSamples: [GEMMKernel: [Double]] = [:]
        let measured = GEMMKernel.available.filter { $0 != .portable || GEMMKernel.available.count == 1 }
        for _ in 0..<options.repetitions {
            for candidate in measured { kernelPeakSamples[candidate, default: []].append(candidate.measurePeakGigaflops(seconds: 0.05)) }
            for threads in options.threadCounts {
                peakSamples[threads, default: []].append(measureParallelPeak(kernel: kernel, pool: pools[threads]!))
            }
        }
        let peaks = peakSamples.mapValues(median)
        var peakLine = "FMA peak (register-only loop, median):"
        for candidate in measured { peakLine += " \(candidate) \(format(median(kernelPeakSamples[candidate]!), 1)) GFLOP/s/core;" }
        for threads in options.threadCounts { peakLine += " \(kernel) × \(threads) threads \(format(peaks[threads]!, 1));" }
        // Only what this CPU measured: a nominal figure of another machine would mislead here.
        print(String(peakLine.dropLast()))

        if options.sections.contains(.gemm) { try runGEMM(pools: pools) }
        if options.sections.contains(.blocking) { runBlocking(pools: pools, kernel: kernel) }
        if options.sections.contains(.conv) { runConvolutions(pools: pools, peaks: peaks) }
        if options.sections.contains(.paths) { runConvolutionPaths(pools: pools) }
        if options.sections.contains(.depthwise) { runDepthwise(pools: pools) }
        if options.sections.contains(.precision) { runPrecision(pools: pools, floatPeakPerCore: median(kernelPeakSamples[kernel] ?? [peaks[1] ?? 0])) }
        print("load average at end: \(loadAverage())")
    }

    // MARK: - GEMM

    private func runGEMM(pools: [Int: ThreadPool]) throws {
        var workers: [Int: NumpyWorker] = [:]
        if options.compareWithNumpy {
            for threads in options.threadCounts {
                do { workers[threads] = try NumpyWorker(threads: threads) } catch {
                    print("numpy unavailable (\(error)); engine numbers only")
                    workers.removeAll()
                    break
                }
            }
        }
        defer { workers.values.forEach { $0.close() } }
        if let worker = workers.values.first { print("numpy: \(worker.versionLine)") }

        // samples[shape][threads] = (engine seconds, numpy seconds)
        var engine = [[Int: [Double]]](repeating: [:], count: Self.gemmShapes.count)
        var numpy = engine
        var generator = SeededGenerator(seed: 1)
        let operands = Self.gemmShapes.map { shape in
            (a: Tensor.uniform([shape.m, shape.k], in: -1...1, using: &generator),
             b: Tensor.uniform([shape.k, shape.n], in: -1...1, using: &generator), c: Tensor(zeros: [shape.m, shape.n]))
        }
        for _ in 0..<options.repetitions {
            for (index, shape) in Self.gemmShapes.enumerated() {
                var c = operands[index].c
                for threads in options.threadCounts {
                    let pool = pools[threads]!
                    let seconds = operands[index].a.withFloats { a in
                        operands[index].b.withFloats { b in
                            c.withMutableFloats { c in
                                measure {
                                    gemm(m: shape.m, n: shape.n, k: shape.k, a: a.baseAddress!, lda: shape.k,
                                         b: b.baseAddress!, ldb: shape.n, c: c.baseAddress!, ldc: shape.n, pool: pool)
                                }
                            }
                        }
                    }
                    engine[index][threads, default: []].append(seconds)
                    if let worker = workers[threads] {
                        numpy[index][threads, default: []].append(try worker.time(m: shape.m, n: shape.n, k: shape.k, seconds: options.secondsPerMeasurement))
                        // OpenBLAS's idle threads spin for a while after a call; let them park
                        // before our next measurement so they do not steal its core.
                        if threads > 1 { Thread.sleep(forTimeInterval: 0.25) }
                    }
                }
            }
        }

        print("")
        print("GEMM C[M×N] = A[M×K]·B[K×N], float32, GFLOP/s (median)")
        let header = ["shape M×N×K"] + options.threadCounts.flatMap { ["periscope \($0)t", "numpy \($0)t", "ratio \($0)t"] }
        var rows: [[String]] = []
        for (index, shape) in Self.gemmShapes.enumerated() {
            let flops = 2.0 * Double(shape.m) * Double(shape.n) * Double(shape.k)
            var row = ["\(shape.m)×\(shape.n)×\(shape.k)"]
            for threads in options.threadCounts {
                let ours = flops / median(engine[index][threads]!) * 1e-9
                row.append(format(ours, 1))
                if let samples = numpy[index][threads], !samples.isEmpty {
                    let theirs = flops / median(samples) * 1e-9
                    row += [format(theirs, 1), format(ours / theirs, 2) + "×"]
                } else {
                    row += ["n/a", "n/a"]
                }
            }
            rows.append(row)
        }
        printTable(header: header, rows: rows)
    }

    // MARK: - Convolution

    private func runConvolutions(pools: [Int: ThreadPool], peaks: [Int: Double]) {
        var generator = SeededGenerator(seed: 3)
        let layers = Self.convolutionLayers.map { layer in
            (input: Tensor.uniform([1, layer.channels, layer.size, layer.size], in: -1...1, using: &generator),
             weight: PackedMatrix(convolutionWeight: Tensor.uniform([layer.channels, layer.channels, 3, 3], in: -0.1...0.1, using: &generator)),
             bias: Tensor.uniform([layer.channels], in: -1...1, using: &generator))
        }
        var samples = [[Int: [Double]]](repeating: [:], count: layers.count)
        for _ in 0..<options.repetitions {
            for (index, layer) in layers.enumerated() {
                for threads in options.threadCounts {
                    let pool = pools[threads]!
                    let seconds = ThreadPool.withCurrent(pool) {
                        measure {
                            _ = Tensor.conv2d(layer.input, packedWeight: layer.weight, bias: layer.bias, padding: (1, 1), relu: true)
                        }
                    }
                    samples[index][threads, default: []].append(seconds)
                }
            }
        }
        print("")
        print("conv2d 3×3, stride 1, padding 1, batch 1, + bias + ReLU (ResNet-50 layers), GFLOP/s (median) and % of the measured FMA peak")
        let header = ["layer C→O, H×W"] + options.threadCounts.flatMap { ["GFLOP/s \($0)t", "% peak \($0)t"] }
        var rows: [[String]] = []
        for (index, layer) in Self.convolutionLayers.enumerated() {
            let geometry = Conv2DGeometry(batch: 1, inputChannels: layer.channels, inputHeight: layer.size, inputWidth: layer.size,
                                          outputChannels: layer.channels, kernelSize: (3, 3), padding: (1, 1))
            var row = ["\(layer.channels)→\(layer.channels), \(layer.size)×\(layer.size)"]
            for threads in options.threadCounts {
                let gigaflops = geometry.flops / median(samples[index][threads]!) * 1e-9
                row += [format(gigaflops, 1), format(100 * gigaflops / peaks[threads]!, 0) + "%"]
            }
            rows.append(row)
        }
        printTable(header: header, rows: rows)
    }

    // MARK: - Convolution paths

    /// ResNet's 3×3 convolutions at batch 1 and 8 on every path that computes them: how each
    /// path does and which one `conv2d` chooses (the cost model's check).
    private func runConvolutionPaths(pools: [Int: ThreadPool]) {
        let geometries = [1, 8].flatMap { batch in
            Self.convolutionLayers.map { layer in
                Conv2DGeometry(batch: batch, inputChannels: layer.channels, inputHeight: layer.size, inputWidth: layer.size,
                               outputChannels: layer.channels, kernelSize: (3, 3), padding: (1, 1))
            }
        }
        let paths = ConvolutionPath.allCases.filter { path in geometries.contains { path.supports($0) } }
        var generator = SeededGenerator(seed: 5)
        let layers = geometries.map { g in
            (input: Tensor.uniform([g.batch, g.inputChannels, g.inputHeight, g.inputWidth], in: -1...1, using: &generator),
             weight: PackedMatrix(convolutionWeight: Tensor.uniform([g.outputChannels, g.inputChannels, 3, 3], in: -0.1...0.1, using: &generator)),
             bias: Tensor.uniform([g.outputChannels], in: -1...1, using: &generator),
             output: Tensor(zeros: [g.batch, g.outputChannels, g.outputHeight, g.outputWidth]))
        }
        var samples: [[String: [Double]]] = Array(repeating: [:], count: layers.count)
        for _ in 0..<options.repetitions {
            for (index, layer) in layers.enumerated() {
                let g = geometries[index]
                for threads in options.threadCounts {
                    for path in paths where path.supports(g) {
                        let seconds = measureConvolution(input: layer.input, weight: layer.weight, bias: layer.bias, output: layer.output,
                                                         geometry: g, path: path, pool: pools[threads]!)
                        samples[index]["\(threads) \(path)", default: []].append(seconds)
                    }
                }
            }
        }
        print("")
        print("conv2d 3×3 (ResNet layers) on each path, ms per call (median); * the path conv2d chooses")
        let header = ["layer N, C→O, H×W", "threads"] + paths.map(\.rawValue)
        var rows: [[String]] = []
        for (index, g) in geometries.enumerated() {
            for threads in options.threadCounts {
                let chosen = ConvolutionPath.chosen(for: g, weight: layers[index].weight, threads: threads).path
                var row = ["N\(g.batch), \(g.inputChannels)→\(g.outputChannels), \(g.inputHeight)×\(g.inputWidth)", "\(threads)"]
                for path in paths {
                    guard let values = samples[index]["\(threads) \(path)"] else { row.append("n/a"); continue }
                    row.append(format(median(values) * 1e3, 3) + (path == chosen ? " *" : ""))
                }
                rows.append(row)
            }
        }
        printTable(header: header, rows: rows)
    }

    // MARK: - Measurement

    /// Seconds per `conv2d` call on `path` with bias and ReLU (the weight packed beforehand).
    func measureConvolution(input: Tensor, weight: PackedMatrix, bias: Tensor, output: Tensor, geometry: Conv2DGeometry,
                            path: ConvolutionPath, pool: ThreadPool) -> Double {
        var output = output
        return input.withFloats { x in
            bias.withFloats { b in
                output.withMutableFloats { y in
                    measure {
                        conv2d(input: x.baseAddress!, weight: weight, bias: b.baseAddress!, output: y.baseAddress!,
                               geometry: geometry, activation: .relu, pool: pool, path: path, weightIsTransient: false)
                    }
                }
            }
        }
    }

    /// Seconds per call of `body`: one warm-up call sizes a batch of about `secondsPerMeasurement`.
    func measure(_ body: () -> Void) -> Double {
        let warmStart = DispatchTime.now().uptimeNanoseconds
        body()
        let warm = Double(DispatchTime.now().uptimeNanoseconds - warmStart) * 1e-9
        let iterations = max(1, Int(options.secondsPerMeasurement / max(warm, 1e-7)))
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { body() }
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 / Double(iterations)
    }

    /// The FMA loop on every thread of `pool` at once: the machine's peak for that many threads.
    private func measureParallelPeak(kernel: GEMMKernel, pool: ThreadPool) -> Double {
        let results = UnsafeMutableBufferPointer<Double>.allocate(capacity: pool.threadCount)
        defer { results.deallocate() }
        pool.parallelFor(pool.threadCount) { index in results[index] = kernel.measurePeakGigaflops(seconds: 0.05) }
        return results.reduce(0, +)
    }

    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    // MARK: - Output

    func format(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }

    func printTable(header: [String], rows: [[String]]) {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        print(line(header))
        print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        rows.forEach { print(line($0)) }
    }

    private func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        let lines = text.split(separator: "\n")
        let model = lines.first { $0.hasPrefix("model name") }.flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) CPUs"
    }

    private func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "n/a"
    }
}

// MARK: - numpy

/// A long-lived `python3` running numpy with a fixed OpenBLAS thread count; times one matmul shape per request.
final class NumpyWorker {
    private let worker: PythonWorker
    var versionLine: String { worker.versionLine }

    private static let script = """
    import sys, time, numpy as np
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = cfg.get("name", "?") + " " + cfg.get("version", "?")
    except Exception:
        blas = "unknown BLAS"
    print("numpy " + np.__version__ + ", " + blas, flush=True)
    cache = {}
    for line in sys.stdin:
        m, n, k, seconds = line.split()
        m, n, k, seconds = int(m), int(n), int(k), float(seconds)
        if (m, n, k) not in cache:
            rng = np.random.default_rng(0)
            cache[(m, n, k)] = (rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32), np.empty((m, n), np.float32))
        a, b, c = cache[(m, n, k)]
        t = time.perf_counter(); np.matmul(a, b, out=c); warm = time.perf_counter() - t
        iterations = max(1, int(seconds / max(warm, 1e-7)))
        t = time.perf_counter()
        for _ in range(iterations): np.matmul(a, b, out=c)
        print((time.perf_counter() - t) / iterations, flush=True)
    """

    init(threads: Int) throws {
        var environment = ProcessInfo.processInfo.environment
        // Let OpenBLAS pick its kernel for this CPU (the AVX-512 one here) instead of a pinned core type.
        environment["OPENBLAS_CORETYPE"] = nil
        environment["OPENBLAS_L2_SIZE"] = nil
        environment["OPENBLAS_NUM_THREADS"] = "\(threads)"
        environment["OMP_NUM_THREADS"] = "\(threads)"
        guard let worker = PythonWorker(script: Self.script, environment: environment) else { throw NumpyWorkerError.notAvailable }
        self.worker = worker
    }

    /// Seconds per `np.matmul` of an M×K by K×N float32 product.
    func time(m: Int, n: Int, k: Int, seconds: Double) throws -> Double {
        guard let line = worker.request("\(m) \(n) \(k) \(seconds)"), let value = Double(line) else {
            throw NumpyWorkerError.noReply(shape: "\(m)×\(n)×\(k)")
        }
        return value
    }

    func close() { worker.close() }
}

enum NumpyWorkerError: Error, CustomStringConvertible {
    case notAvailable
    case noReply(shape: String)

    var description: String {
        switch self {
        case .notAvailable: "python3 with numpy did not start"
        case .noReply(let shape): "numpy gave no timing for \(shape)"
        }
    }
}
