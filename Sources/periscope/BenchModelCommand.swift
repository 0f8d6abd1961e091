import Foundation
import Models
import NN
import Tensors

// `periscope bench model …`: forward-pass latency of one model, the number the side-by-side
// comparison with PyTorch (`scripts/bench-models`) reads from the last line.

/// `bench model (MODEL | --architecture A [--config C.json] [--weights W] | --onnx M.onnx | --hf-dir DIR)
/// (--batch B [--seq S] [--image-size N] | --input IN.safetensors) --iterations N [--warmup W] [--threads T]`:
/// runs forward passes (seeded weights when none are given; seeded inputs of the model's shapes, or the
/// tensors of `--input`, which is how `scripts/bench-models` gives every engine the same input) and
/// prints, as its last line,
/// `{"median_ms": …, "p90_ms": …, "iterations": …}`.
enum BenchModelCommand {
    static let usage = "bench model " + ModelSource.usage
        + " (--batch B [--seq S] [--image-size N] | --input IN.safetensors) --iterations N [--warmup W] [--threads T] [--precision P] [--without-fusion] [--profile-layers]"

    static func run(_ arguments: inout CommandLineArguments) throws {
        let batch = try positive(&arguments, "batch", default: 1)
        let sequence = try positive(&arguments, "seq", default: 128)
        let imageSize = try arguments.integerOption("image-size")
        let iterations = try positive(&arguments, "iterations", default: 10)
        let warmup = try arguments.integerOption("warmup") ?? 3
        let threads = try arguments.integerOption("threads")
        let profileLayers = arguments.flag("profile-layers")
        let withoutFusion = arguments.flag("without-fusion")
        let inputPath = try arguments.option("input")
        let precision = try ModelSource.parsePrecision(&arguments)
        let source = try ModelSource.parse(&arguments, requiresWeights: false)
        try arguments.finish()
        if let imageSize, imageSize <= 0 { throw CommandLineError.invalidValue(option: "image-size", value: "\(imageSize)", expected: "a positive integer") }
        if let threads, threads <= 0 { throw CommandLineError.invalidValue(option: "threads", value: "\(threads)", expected: "a positive integer") }

        let model = try source.load(seed: 42, precision: precision)
        let inputs = try inputPath.map { try ModelInput.file($0).load(for: model) }
            ?? benchmarkInputs(model, batch: batch, sequence: sequence, imageSize: imageSize)
        let pool = threads.map { ThreadPool(threadCount: $0) } ?? ThreadPool.shared
        defer { if threads != nil { pool.shutdown() } }
        let replica = try model.makeReplica()
        let shapes = inputs.keys.sorted().map { "\($0) \(inputs[$0]!.shape)" }.joined(separator: ", ")
        print("model: \(model.name) (\(model.parameterCount) parameters), precision: \(model.precision), inputs: \(shapes), threads: \(pool.threadCount)"
              + (withoutFusion ? ", fused paths off" : ""))

        // A no-op global hook makes every module run on its own, as a capture of every layer does:
        // the time without the fused paths (folded BatchNorm, fused activations, packed q|k|v).
        let noOperation = withoutFusion ? GlobalModuleHooks.registerForwardHook { _, _, _ in nil } : nil
        defer { noOperation?.remove() }
        var times: [Double] = [], processorTimes: [Double] = []
        try ThreadPool.withCurrent(pool) {
            for _ in 0..<max(warmup, 0) { _ = try replica.forward(inputs: inputs) }
            for _ in 0..<iterations {
                let start = DispatchTime.now().uptimeNanoseconds, processorStart = Self.processorMilliseconds()
                _ = try replica.forward(inputs: inputs)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                processorTimes.append(Self.processorMilliseconds() - processorStart)
            }
        }
        if profileLayers { try ThreadPool.withCurrent(pool) { try profile(replica, inputs: inputs, iterations: iterations) } }
        let sorted = times.sorted()
        let median = Self.median(times)
        let p90 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.9).rounded(.up)) - 1)]
        // CPU time (all threads, spinning included) tells a slow machine from slow code.
        print("min \(format(sorted.first!)) ms, median \(format(median)) ms, p90 \(format(p90)) ms, max \(format(sorted.last!)) ms; "
              + "CPU time median \(format(Self.median(processorTimes))) ms")
        print("{\"median_ms\": \(format(median)), \"p90_ms\": \(format(p90)), \"iterations\": \(iterations)}")
    }

    /// Time per leaf module (summed over calls, median over iterations), measured with global hooks —
    /// so on the un-fused path, where every module runs on its own.
    static func profile(_ replica: InferenceModel, inputs: [String: Tensor], iterations: Int) throws {
        final class Clock: @unchecked Sendable {
            var starts: [ObjectIdentifier: [UInt64]] = [:]
            var totals: [ObjectIdentifier: UInt64] = [:]
        }
        let clock = Clock()
        let leaves = replica.module.namedModules().filter { $0.module.children().isEmpty }
        let leafIdentifiers = Set(leaves.map { ObjectIdentifier($0.module) })
        let pre = GlobalModuleHooks.registerForwardPreHook { module, _ in
            let id = ObjectIdentifier(module)
            if leafIdentifiers.contains(id) { clock.starts[id, default: []].append(DispatchTime.now().uptimeNanoseconds) }
            return nil
        }
        let post = GlobalModuleHooks.registerForwardHook(alwaysCall: true) { module, _, _ in
            let id = ObjectIdentifier(module)
            if leafIdentifiers.contains(id), let start = clock.starts[id]?.popLast() {
                clock.totals[id, default: 0] += DispatchTime.now().uptimeNanoseconds - start
            }
            return nil
        }
        defer { pre.remove(); post.remove() }
        var perIteration: [[ObjectIdentifier: UInt64]] = []
        for _ in 0..<iterations {
            clock.totals = [:]
            _ = try replica.forward(inputs: inputs)
            perIteration.append(clock.totals)
        }
        let rows = leaves.map { name, module -> (String, String, Double) in
            let id = ObjectIdentifier(module)
            return (name, module.typeName, median(perIteration.map { Double($0[id] ?? 0) / 1e6 }))
        }
        let total = rows.reduce(0) { $0 + $1.2 }
        print("layer profile (un-fused, leaf modules, median ms per forward; total \(format(total)) ms):")
        for (name, type, milliseconds) in rows.sorted(by: { $0.2 > $1.2 }).prefix(25) where milliseconds > 0 {
            print("  \(format(milliseconds)) ms  \(String(format: "%5.1f", 100 * milliseconds / max(total, 1e-9)))%  \(name) (\(type))")
        }
        let byType = Dictionary(grouping: rows, by: \.1).mapValues { $0.reduce(0) { $0 + $1.2 } }
        print("by module type: " + byType.sorted { $0.value > $1.value }.map { "\($0.key) \(format($0.value)) ms" }.joined(separator: ", "))
    }

    /// Inputs of the model's shapes: images of `imageSize` (or the model's own), token sequences of
    /// `sequence` random ids with a full mask; values from a fixed seed.
    static func benchmarkInputs(_ model: LoadedModel, batch: Int, sequence: Int, imageSize: Int?) throws -> [String: Tensor] {
        var generator = SeededGenerator(seed: 7)
        var inputs: [String: Tensor] = [:]
        for specification in model.inputs {
            var shape = specification.concreteShape(batchSize: batch, sequenceLength: sequence)
            if let imageSize, model.architecture.isVision {
                if case .fixed(let size) = specification.shape[2], size != imageSize {
                    throw CommandLineError.invalidValue(option: "image-size", value: "\(imageSize)", expected: "\(size) (this model's image size)")
                }
                shape[2] = imageSize
                shape[3] = imageSize
            }
            switch specification.name {
            case "input_ids":
                guard case .bert(let configuration) = model.architecture else { continue }
                guard sequence <= configuration.maxPositionEmbeddings else {
                    throw CommandLineError.invalidValue(option: "seq", value: "\(sequence)", expected: "at most \(configuration.maxPositionEmbeddings)")
                }
                let ids = (0..<Tensor.elementCount(shape)).map { _ in Int64(generator.next() % UInt64(configuration.vocabSize)) }
                inputs["input_ids"] = Tensor(shape: shape, elements: ids)
            case "attention_mask":
                inputs["attention_mask"] = Tensor(shape: shape, elements: [Int64](repeating: 1, count: Tensor.elementCount(shape)))
            case "token_type_ids":
                continue
            default:
                inputs[specification.name] = Tensor.normal(shape, using: &generator)
            }
        }
        return inputs
    }

    private static func positive(_ arguments: inout CommandLineArguments, _ name: String, default value: Int) throws -> Int {
        guard let given = try arguments.integerOption(name) else { return value }
        guard given > 0 else { throw CommandLineError.invalidValue(option: name, value: "\(given)", expected: "a positive integer") }
        return given
    }

    private static func format(_ value: Double) -> String { String(format: "%.3f", value) }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// CPU time of the whole process so far, in milliseconds.
    private static func processorMilliseconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) * 1e3 + Double(time.tv_nsec) / 1e6
    }
}
