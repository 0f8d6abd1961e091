import NN
import Tensors
import TestSupport
import Testing
@testable import ONNX

/// Channels-last execution against the NCHW run of the same graph: the committed MobileNet-v3-style
/// block (1×1 → depthwise → squeeze-excitation → 1×1, residual) and a ResNet, which must not be
/// touched. Every module's forward hook sees the NCHW value either way.
@Suite struct ONNXChannelsLastTests {
    @Test func depthwiseChainsRunChannelsLastAndResNetsDoNot() throws {
        let mobile = try ONNXParityTests.load("mobile_block").module.plan
        let types = mobile.channelsLastSteps.map { mobile.steps[$0].node.operatorType }
        // Expand, depthwise, the squeeze-excitation's two and project; not the 3×3 stem.
        #expect(types.filter { $0 == "Conv" }.count == 5, "\(types)")
        let stem = mobile.steps.firstIndex { $0.node.operatorType == "Conv" }!
        #expect(!mobile.channelsLastSteps.contains(stem))
        #expect(types.contains("ReduceMean") && types.contains("Add") && types.contains("Mul"))
        let resnet = try ONNXParityTests.load("tiny_resnet").module.plan
        #expect(resnet.channelsLastSteps.isEmpty)
    }

    @Test func outputsEqualTheNCHWRun() throws {
        let (module, inputs, expected) = try ONNXParityTests.load("mobile_block")
        module.runsChannelsLast = false
        let reference = try GradMode.withDisabled { try module.outputs(inputs: inputs) }
        module.runsChannelsLast = true
        let outputs = try GradMode.withDisabled { try module.outputs(inputs: inputs) }
        for name in module.plan.outputNames {
            let d = difference(outputs[name]!, reference[name]!)
            #expect(d != nil && d!.scaledError <= 1e-5, "\(name): \(String(describing: d))")
            ONNXParityTests.check(name, outputs[name], expected[name]!)
        }
    }

    @Test func everyModuleHookSeesTheNCHWValue() throws {
        let (module, inputs, _) = try ONNXParityTests.load("mobile_block")
        module.runsChannelsLast = false
        let reference = try GradMode.withDisabled { try module.allValues(inputs: inputs) }
        let names = Dictionary(module.plan.tensorLayerNames.map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        module.runsChannelsLast = true
        var checked = 0
        for entry in module.plan.modules {
            guard let target = module.module(at: entry.path) else { continue }
            var observed: Tensor?
            let handle = target.registerForwardHook { _, _, output in observed = output; return nil }
            _ = try GradMode.withDisabled { try module(inputs: inputs) }
            handle.remove()
            guard entry.isLeaf, let tensorName = names[entry.path], let expected = reference[tensorName] else { continue }
            let d = observed.flatMap { difference($0, expected) }
            #expect(d != nil && d!.scaledError <= 1e-5, "\(entry.path): \(String(describing: d))")
            checked += 1
        }
        #expect(checked >= 12)
        #expect(module.hookCount == 0)
    }
}
