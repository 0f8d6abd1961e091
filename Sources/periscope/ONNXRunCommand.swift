import CommandLineSupport
import Foundation
import NN
import ONNX
import Tensors

// `periscope onnx-run MODEL.onnx --input IN.safetensors --output OUT.safetensors [--all-nodes]
// [--repeat N]`: runs an ONNX graph on named input tensors and writes its outputs (with
// `--all-nodes`, every node output under its ONNX tensor name, computed without fusion) — the path
// `scripts/onnx-parity` compares against ONNX Runtime. `--repeat N` times N fused forward passes
// and prints the median as the last line (JSON), like `bench model`.

/// The `onnx-run` subcommand.
enum ONNXRunCommand {
    static let usage = "onnx-run MODEL.onnx --input IN.safetensors --output OUT.safetensors [--all-nodes] [--repeat N]"

    static func run(_ arguments: inout CommandLineArguments) throws {
        guard let input = try arguments.option("input") else { throw CommandLineError.missingArgument("--input IN.safetensors") }
        let output = try arguments.option("output")
        let allNodes = arguments.flag("all-nodes")
        let repetitions = try arguments.integerOption("repeat") ?? 0
        let path = try arguments.requiredPositional("MODEL.onnx")
        try arguments.finish()
        let plan: ONNXGraphPlan
        do {
            plan = try ONNXGraphPlan(model: ONNXModelProto.read(contentsOf: URL(fileURLWithPath: path)))
        } catch let error as ONNXError {
            throw CommandLineError.invalidValue(option: "model", value: path, expected: "a supported ONNX model (\(error))")
        }
        var inputs: [String: Tensor] = [:]
        for (name, tensor) in try SafetensorsFile(contentsOf: URL(fileURLWithPath: input)).tensors() { inputs[name] = tensor }
        let module = ONNXGraphModule(plan: plan)
        let values = try GradMode.withDisabled {
            allNodes ? try module.allValues(inputs: inputs) : try module.outputs(inputs: inputs)
        }
        if let output {
            let names = allNodes ? plan.orderedTensorNames.filter { values[$0] != nil } : plan.outputNames
            try SafetensorsWriter.write(names.map { ($0, values[$0]!) }, to: URL(fileURLWithPath: output))
        }
        guard repetitions > 0 else { return }
        var times: [Double] = []
        for _ in 0..<repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try GradMode.withDisabled { try module(inputs: inputs) }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        print(#"{"median_ms": \#(times[times.count / 2]), "iterations": \#(repetitions)}"#)
    }
}
