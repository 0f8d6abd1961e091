import CommandLineSupport
import Foundation
import Models
import NN
import ONNX
import Tensors

// `periscope bench model …`: forward-pass latency of one model, the number the side-by-side
// comparison with PyTorch (`scripts/bench-models`) reads from the last line.

/// `bench model (MODEL | --architecture A [--config C.json] [--weights W] | --onnx M.onnx | --hf-dir DIR)
/// (--batch B [--seq S] [--image-size N] | --input IN.safetensors) --iterations N [--warmup W] [--threads T]`:
/// runs forward passes (seeded weights when none are given; seeded inputs of the model's shapes, or the
/// tensors of `--input`, which is how `scripts/bench-models` gives every engine the same input) and
/// prints, as its last line,
/// `{"median_ms": …, "p90_ms": …, "iterations": …}`. `--precision float32,int8` runs the model in each
/// precision, interleaved, and adds `"precisions": {"float32": {…}, "int8": {…}}` to that line.
enum BenchModelCommand {
    static func run(_ arguments: inout CommandLineArguments) throws {
        let batch = try arguments.positiveIntegerOption("batch") ?? 1
        let sequence = try arguments.positiveIntegerOption("seq") ?? 128
        let imageSize = try arguments.positiveIntegerOption("image-size")
        let iterations = try arguments.positiveIntegerOption("iterations") ?? 10
        let warmup = try arguments.integerOption("warmup") ?? 3
        let threads = try arguments.positiveIntegerOption("threads")
        let profileLayers = arguments.flag("profile-layers")
        let withoutFusion = arguments.flag("without-fusion")
        let inputPath = try arguments.option("input")
        let precisions = try parsePrecisions(&arguments)
        let source = try ModelSource.parse(&arguments, requiresWeights: false)
        try arguments.finish()

        // One load; each precision is a copy sharing the weight storage, with its own replica.
        let loaded = try source.load(seed: 42, precision: precisions?.first)
        let models = try (precisions ?? [loaded.precision]).map { precision in
            var model = loaded
            if model.precision != precision { try model.setPrecision(precision) }
            return model
        }
        let inputs = try inputPath.map { try ModelInput.file($0).load(for: loaded) }
            ?? benchmarkInputs(loaded, batch: batch, sequence: sequence, imageSize: imageSize)
        let pool = threads.map { ThreadPool(threadCount: $0) } ?? ThreadPool.shared
        defer { if threads != nil { pool.shutdown() } }
        let replicas = try models.map { try $0.makeReplica() }
        let shapes = inputs.keys.sorted().map { "\($0) \(inputs[$0]!.shape)" }.joined(separator: ", ")
        print("model: \(loaded.name) (\(loaded.parameterCount) parameters), precision: \(models.map(\.precision.rawValue).joined(separator: ", ")), "
              + "inputs: \(shapes), threads: \(pool.threadCount), CPU: \(cpuModel())" + (withoutFusion ? ", fused paths off" : ""))

        // A no-op global hook makes every module run on its own, as a capture of every layer does:
        // the time without the fused paths (folded BatchNorm, fused activations, packed q|k|v).
        let noOperation = withoutFusion ? GlobalModuleHooks.registerForwardHook { _, _, _ in nil } : nil
        defer { noOperation?.remove() }
        // Several precisions run interleaved (one forward of each per iteration), so background
        // load hits them alike and the medians compare side by side.
        var times = [[Double]](repeating: [], count: replicas.count), processorTimes = times
        try ThreadPool.withCurrent(pool) {
            for _ in 0..<max(warmup, 0) { for replica in replicas { _ = try replica.forward(inputs: inputs) } }
            for _ in 0..<iterations {
                for (index, replica) in replicas.enumerated() {
                    let start = DispatchTime.now().uptimeNanoseconds, processorStart = Self.processorMilliseconds()
                    _ = try replica.forward(inputs: inputs)
                    times[index].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                    processorTimes[index].append(Self.processorMilliseconds() - processorStart)
                }
            }
        }
        if profileLayers {
            for (index, replica) in replicas.enumerated() {
                if replicas.count > 1 { print("\(models[index].precision):") }
                try ThreadPool.withCurrent(pool) { try profile(replica, inputs: inputs, iterations: iterations) }
            }
        }
        var summaries: [String] = []
        for (index, model) in models.enumerated() {
            let sorted = times[index].sorted()
            let median = Self.median(times[index])
            let p90 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.9).rounded(.up)) - 1)]
            // CPU time (all threads, spinning included) tells a slow machine from slow code.
            print((models.count > 1 ? "\(model.precision): " : "") + "min \(format(sorted.first!)) ms, median \(format(median)) ms, "
                  + "p90 \(format(p90)) ms, max \(format(sorted.last!)) ms; CPU time median \(format(Self.median(processorTimes[index]))) ms"
                  + (index > 0 ? "; \(models[0].precision) median / this median " + String(format: "%.2f", Self.median(times[0]) / median) + "×" : ""))
            summaries.append("{\"median_ms\": \(format(median)), \"p90_ms\": \(format(p90)), \"iterations\": \(iterations)}")
        }
        // The last line: the first precision's figures, and every precision's when there are several.
        if models.count == 1 {
            print(summaries[0])
        } else {
            let all = zip(models, summaries).map { "\"\($0.precision)\": \($1)" }.joined(separator: ", ")
            print(String(summaries[0].dropLast()) + ", \"precisions\": {\(all)}}")
        }
    }

    /// `--precision P[,P…]` (float32, bfloat16, int8): nil when absent (a registered model's own
    /// precision, else float32).
    static func parsePrecisions(_ arguments: inout CommandLineArguments) throws -> [ComputePrecision]? {
        guard let text = try arguments.option("precision") else { return nil }
        let names = text.split(separator: ",").map(String.init)
        let precisions = names.compactMap(ComputePrecision.init(rawValue:))
        guard !names.isEmpty, precisions.count == names.count, Set(precisions).count == precisions.count else {
            throw CommandLineError.invalidValue(option: "precision", value: text,
                                                expected: "one or more of " + ComputePrecision.allCases.map(\.rawValue).joined(separator: ", ") + ", comma-separated")
        }
        return precisions
    }

    /// The CPU's model name (a figure means little without it).
    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let name = line.split(separator: ":", maxSplits: 1).last else { return "unknown" }
        return name.trimmingCharacters(in: .whitespaces)
    }

    /// Time per leaf module (summed over calls, median over iterations), measured with global hooks —
    /// so on the un-fused path, where every module runs on its own. An ONNX graph's modules are
    /// zero-duration (their hooks run right after their node computed), so there a leaf is charged the
    /// time since the previous leaf finished: its node's time, in the graph's sequential order.
    static func profile(_ replica: InferenceModel, inputs: [String: Tensor], iterations: Int) throws {
        final class Clock: @unchecked Sendable {
            var starts: [ObjectIdentifier: [UInt64]] = [:]
            var totals: [ObjectIdentifier: UInt64] = [:]
            var lastFinish: UInt64 = 0
        }
        let clock = Clock()
        let chargesSincePrevious = replica.module is ONNXGraphModule
        let leaves = replica.module.namedModules().filter { $0.module.children().isEmpty }
        let leafIdentifiers = Set(leaves.map { ObjectIdentifier($0.module) })
        let pre = GlobalModuleHooks.registerForwardPreHook { module, _ in
            let id = ObjectIdentifier(module)
            if leafIdentifiers.contains(id) { clock.starts[id, default: []].append(DispatchTime.now().uptimeNanoseconds) }
            return nil
        }
        let post = GlobalModuleHooks.registerForwardHook(alwaysCall: true) { module, _, _ in
            let id = ObjectIdentifier(module)
            guard leafIdentifiers.contains(id), let start = clock.starts[id]?.popLast() else { return nil }
            let now = DispatchTime.now().uptimeNanoseconds
            clock.totals[id, default: 0] += now - (chargesSincePrevious ? clock.lastFinish : start)
            clock.lastFinish = now
            return nil
        }
        defer { pre.remove(); post.remove() }
        var perIteration: [[ObjectIdentifier: UInt64]] = []
        for _ in 0..<iterations {
            clock.totals = [:]
            clock.lastFinish = DispatchTime.now().uptimeNanoseconds
            _ = try replica.forward(inputs: inputs)
            perIteration.append(clock.totals)
        }
        let rows = leaves.map { name, module -> (String, String, Double) in
            let id = ObjectIdentifier(module)
            return (name, module.typeName, median(perIteration.map { Double($0[id] ?? 0) / 1e6 }))
        }
        let total = rows.reduce(0) { $0 + $1.2 }
        print("layer profile (un-fused, leaf modules, median ms per forward; total \(format(total)) ms):")
        for (name, type, milliseconds) in rows.sorted(by: { $0.2 > $1.2 }).prefix(Int(ProcessInfo.processInfo.environment["PERISCOPE_PROFILE_ROWS"] ?? "") ?? 25) where milliseconds > 0 {
            print("  \(format(milliseconds)) ms  \(String(format: "%5.1f", 100 * milliseconds / max(total, 1e-9)))%  \(name) (\(type))")
        }
        let byType = Dictionary(grouping: rows, by: \.1).mapValues { $0.reduce(0) { $0 + $1.2 } }
        print("by module type: " + byType.sorted { $0.value > $1.value }.map { "\($0.key) \(format($0.value)) ms" }.joined(separator: ", "))
    }

    /// Inputs of the model's shapes: images of `imageSize` (or the model's own), token sequences of
    /// `sequence` random ids with a full mask (a CLIP: images only); values from a fixed seed.
    static func benchmarkInputs(_ model: LoadedModel, batch: Int, sequence: Int, imageSize: Int?) throws -> [String: Tensor] {
        var generator = SeededGenerator(seed: 7)
        var inputs: [String: Tensor] = [:]
        let imageInput = model.architecture.imageInputName
        for specification in model.inputs {
            // A model of images or texts (CLIP) is benchmarked on images: its image tower.
            if let imageInput, model.architecture.takesText, specification.name != imageInput { continue }
            var shape = specification.concreteShape(batchSize: batch, sequenceLength: sequence)
            if let imageSize, specification.name == imageInput {
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
