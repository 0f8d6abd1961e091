import Foundation
import Models
import NN
import Tensors

// `periscope bench model …`: forward-pass latency of one model, the number the side-by-side
// comparison with PyTorch (`scripts/bench-models`) reads from the last line.

/// `bench model (MODEL | --architecture A [--config C.json] [--weights W] | --hf-dir DIR) --batch B
/// [--seq S] [--image-size N] --iterations N [--warmup W] [--threads T]`: runs forward passes (seeded
/// weights when none are given, zeros-and-noise inputs) and prints, as its last line,
/// `{"median_ms": …, "p90_ms": …, "iterations": …}`.
enum BenchModelCommand {
    static let usage = "bench model " + ModelSource.usage
        + " --batch B [--seq S] [--image-size N] --iterations N [--warmup W] [--threads T]"

    static func run(_ arguments: inout CommandLineArguments) throws {
        let batch = try positive(&arguments, "batch", default: 1)
        let sequence = try positive(&arguments, "seq", default: 128)
        let imageSize = try arguments.integerOption("image-size")
        let iterations = try positive(&arguments, "iterations", default: 10)
        let warmup = try arguments.integerOption("warmup") ?? 3
        let threads = try arguments.integerOption("threads")
        let source = try ModelSource.parse(&arguments, requiresWeights: false)
        try arguments.finish()
        if let imageSize, imageSize <= 0 { throw CommandLineError.invalidValue(option: "image-size", value: "\(imageSize)", expected: "a positive integer") }
        if let threads, threads <= 0 { throw CommandLineError.invalidValue(option: "threads", value: "\(threads)", expected: "a positive integer") }

        let model = try source.load(seed: 42)
        let inputs = try benchmarkInputs(model, batch: batch, sequence: sequence, imageSize: imageSize)
        let pool = threads.map { ThreadPool(threadCount: $0) } ?? ThreadPool.shared
        defer { if threads != nil { pool.shutdown() } }
        let replica = try model.makeReplica()
        let shapes = inputs.keys.sorted().map { "\($0) \(inputs[$0]!.shape)" }.joined(separator: ", ")
        print("model: \(model.name) (\(model.parameterCount) parameters), inputs: \(shapes), threads: \(pool.threadCount)")

        var times: [Double] = []
        try ThreadPool.withCurrent(pool) {
            for _ in 0..<max(warmup, 0) { _ = try replica.forward(inputs: inputs) }
            for _ in 0..<iterations {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try replica.forward(inputs: inputs)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
        }
        let sorted = times.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let p90 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.9).rounded(.up)) - 1)]
        print("min \(format(sorted.first!)) ms, median \(format(median)) ms, p90 \(format(p90)) ms, max \(format(sorted.last!)) ms")
        print("{\"median_ms\": \(format(median)), \"p90_ms\": \(format(p90)), \"iterations\": \(iterations)}")
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
}
