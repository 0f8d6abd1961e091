import Foundation
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

    /// Squeeze-and-excitation's Mul before a 1×1 projection: with more pixels than outputs (36 > 4) the gate scales the
    /// weights per sample, otherwise (36 < 40) the Mul runs first; either way the NCHW run's values, and a hook on the
    /// Mul sees its product.
    @Test(arguments: [4, 40])
    func squeezeExcitationScaleFusesIntoTheProjection(outputs: Int) throws {
        typealias W = ProtobufWriter
        func floats(_ count: Int, seed: UInt64) -> [Float] { randomTensor([count], seed: seed).toArray() }
        let group = W.string(1, "group") + W.int(3, 8) + W.int(20, 2)
        let bytes = W.model(
            nodes: [
                W.node("Conv", inputs: ["x", "wd"], outputs: ["d"], name: "/block/depthwise/Conv",
                       attributes: [group, W.intsAttribute("pads", [1, 1, 1, 1])]),
                W.node("GlobalAveragePool", inputs: ["d"], outputs: ["p"], name: "/block/se/avgpool/GlobalAveragePool"),
                W.node("Conv", inputs: ["p", "wf", "bf"], outputs: ["f"], name: "/block/se/fc/Conv"),
                W.node("Sigmoid", inputs: ["f"], outputs: ["gate"], name: "/block/se/scale_activation/Sigmoid"),
                W.node("Mul", inputs: ["d", "gate"], outputs: ["m"], name: "/block/se/Mul"),
                W.node("Conv", inputs: ["m", "wp", "bp"], outputs: ["y"], name: "/block/project/Conv"),
            ],
            initializers: [W.tensor(name: "wd", dims: [8, 1, 3, 3], floats: floats(72, seed: 1)),
                           W.tensor(name: "wf", dims: [8, 8, 1, 1], floats: floats(64, seed: 2)),
                           W.tensor(name: "bf", dims: [8], floats: floats(8, seed: 3)),
                           W.tensor(name: "wp", dims: [Int64(outputs), 8, 1, 1], floats: floats(8 * outputs, seed: 4)),
                           W.tensor(name: "bp", dims: [Int64(outputs)], floats: floats(outputs, seed: 5))],
            inputs: [W.valueInfo("x", dims: [-1, 8, 6, 6])], outputs: [W.valueInfo("y", dims: [-1, Int64(outputs), 6, 6])])
        let plan = try ONNXGraphPlan(model: ONNXModelProto.decode(Data(bytes)))
        let chains = plan.fusions.values.map { $0.chain.map { plan.steps[$0].node.operatorType } }
        #expect(chains.contains(["Mul", "Conv"]), "\(chains)")
        let module = ONNXGraphModule(plan: plan)
        let inputs = ["x": randomTensor([2, 8, 6, 6], seed: 6)]
        let reference = try #require(try GradMode.withDisabled { try module.allValues(inputs: inputs) }["y"])
        for channelsLast in [true, false] {
            module.runsChannelsLast = channelsLast
            let fused = try GradMode.withDisabled { try module(inputs: inputs) }
            #expect(isClose(fused, reference, tolerance: 1e-5), "\(String(describing: difference(fused, reference)))")
            let (hooked, product) = try ONNXGraphPlanTests.runHooking("Mul", of: module, inputs: inputs)
            #expect(product?.shape == [2, 8, 6, 6] && isClose(hooked, reference, tolerance: 1e-5))
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
