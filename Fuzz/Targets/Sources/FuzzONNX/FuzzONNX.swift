// Fuzz target: the ONNX protobuf reader and graph compiler (Sources/ONNX), which read uploaded
// model files.
//
// The input is a whole `.onnx` file (no external data: no directory is given, so every external
// reference must fail cleanly). It is decoded with a 64 MiB allocation limit, compiled into a plan
// and built into a module tree. Findings: memory errors, traps (a malformed file must be an
// `ONNXError`, never a crash or an allocation past the limit — AddressSanitizer's allocator limit
// and libFuzzer's RSS limit catch those), and broken contracts:
// - every error renders as one line;
// - the module tree's state-dict keys are exactly the initializer names, in order;
// - every node of the plan has a module at its path.
import Foundation
import FuzzDriver
import NN
import ONNX

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let data = count > 0 ? Data(bytes: start!, count: count) : Data()
    let plan: ONNXGraphPlan
    do {
        plan = try ONNXGraphPlan(model: ONNXModelProto.decode(data, directory: nil, limit: 64 << 20))
    } catch let error as ONNXError {
        if error.description.contains("\n") { invariantFailure("multi-line error: \(error.description)") }
        return 0
    } catch {
        invariantFailure("error outside ONNXError: \(error)")
    }
    let module = ONNXGraphModule(plan: plan)
    let keys = module.stateDict().keys
    guard keys == plan.initializers.map(\.name) else {
        invariantFailure("state-dict keys \(keys.prefix(5)) differ from the initializer names \(plan.initializers.prefix(5).map(\.name))")
    }
    for entry in plan.modules where module.module(at: entry.path) == nil {
        invariantFailure("no module at '\(entry.path)'")
    }
    _ = LayerCatalog(moduleTreeOf: module)
    return 0
}
