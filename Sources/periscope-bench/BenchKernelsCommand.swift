import CommandLineSupport
import Foundation
import Tensors

// `periscope bench kernels`: GEMM and convolution throughput against numpy, side by side.

/// What `periscope bench` runs (this executable, in its place): `kernels [--repetitions N]
/// [--seconds S] [--no-numpy]`, `encode …` (`EncodeBenchmark`) or `model …` (`BenchModelCommand`).
func runBenchCommand(_ arguments: inout CommandLineArguments) throws {
    let what = try arguments.requiredPositional("what to benchmark (kernels, model)")
    switch what {
    case "kernels":
        var options = KernelBenchmark.Options()
        if let repetitions = try arguments.positiveIntegerOption("repetitions") { options.repetitions = repetitions }
        if let seconds = try arguments.positiveNumberOption("seconds") { options.secondsPerMeasurement = seconds }
        options.compareWithNumpy = !arguments.flag("no-numpy")
        if let text = try arguments.option("only") {
            guard let only = KernelBenchmark.Section(rawValue: text) else { throw CommandLineError.invalidValue(option: "only", value: text, expected: "gemm, blocking, conv, paths, depthwise or precision") }
            options.sections = [only]
        }
        try arguments.finish()
        try KernelBenchmark(options: options).run()
    case "encode": try EncodeBenchmark.run(&arguments)
    case "model":
        try BenchModelCommand.run(&arguments)
    default:
        throw CommandLineError.unknownCommand("bench \(what)")
    }
}
