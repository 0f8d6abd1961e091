// ResNet-18 (torchvision layout, BasicBlock [2, 2, 2, 2]) forward at batch 1, 224×224, in no-grad
// mode with the parameters requiring grad (how a served model runs).
import Foundation
import NN
import Tensors

/// Conv2d with its weight packed once for inference (as the model zoo's layers do), falling back
/// to the differentiable op while autograd records.
final class PackedConv2d: Conv2d {
    private var packed: PackedMatrix?

    override func forward(_ input: Tensor) throws -> Tensor {
        if Tensor.shouldRecord(input, weight.value, bias?.value) { return try super.forward(input) }
        if packed.map({ !$0.isPacking(weight.value) }) ?? true {
            packed = PackedMatrix(convolutionWeight: weight.value.detached())
        }
        return Tensor.conv2d(input, packedWeight: packed!, bias: bias?.value, stride: stride.tuple, padding: padding.tuple,
                             dilation: dilation.tuple, groups: groups)
    }
}

typealias Conv = PackedConv2d

final class BasicBlock: UnaryModule {
    let conv1: Conv, bn1: BatchNorm2d, relu = ReLU(inplace: true), conv2: Conv, bn2: BatchNorm2d
    let downsample: Sequential?

    init(_ inChannels: Int, _ outChannels: Int, stride: Int) {
        conv1 = Conv(inChannels: inChannels, outChannels: outChannels, kernelSize: 3, stride: IntPair(stride), padding: 1, bias: false)
        bn1 = BatchNorm2d(featureCount: outChannels)
        conv2 = Conv(inChannels: outChannels, outChannels: outChannels, kernelSize: 3, padding: 1, bias: false)
        bn2 = BatchNorm2d(featureCount: outChannels)
        downsample = stride != 1 || inChannels != outChannels
            ? Sequential(Conv(inChannels: inChannels, outChannels: outChannels, kernelSize: 1, stride: IntPair(stride), bias: false),
                         BatchNorm2d(featureCount: outChannels))
            : nil
        super.init()
    }

    override func forward(_ input: Tensor) throws -> Tensor {
        var out = try relu(bn1(conv1(input)))
        out = try bn2(conv2(out))
        return try relu(out + (downsample?(input) ?? input))
    }
}

final class ResNet18: UnaryModule {
    let conv1 = Conv(inChannels: 3, outChannels: 64, kernelSize: 7, stride: 2, padding: 3, bias: false)
    let bn1 = BatchNorm2d(featureCount: 64)
    let relu = ReLU(inplace: true)
    let maxpool = MaxPool2d(kernelSize: 3, stride: 2, padding: 1)
    let layer1 = Sequential(BasicBlock(64, 64, stride: 1), BasicBlock(64, 64, stride: 1))
    let layer2 = Sequential(BasicBlock(64, 128, stride: 2), BasicBlock(128, 128, stride: 1))
    let layer3 = Sequential(BasicBlock(128, 256, stride: 2), BasicBlock(256, 256, stride: 1))
    let layer4 = Sequential(BasicBlock(256, 512, stride: 2), BasicBlock(512, 512, stride: 1))
    let avgpool = AdaptiveAvgPool2d(outputSize: IntPair(1, 1))
    let fc = Linear(inFeatures: 512, outFeatures: 1000)

    override func forward(_ input: Tensor) throws -> Tensor {
        var x = try maxpool(relu(bn1(conv1(input))))
        x = try layer4(layer3(layer2(layer1(x))))
        return try fc(avgpool(x).flattened(startAxis: 1))
    }
}

// Usage: bench-autograd [iterations] [warmup] — or `bench-autograd serve`: one forward per line
// read from stdin, its time printed (`ms <value>`), so a driver can interleave two builds forward
// by forward (scripts/bench-autograd-overhead).
let model = withRandomSeed(1) { ResNet18() }.eval()
var generator = SeededGenerator(seed: 2)
let input = Tensor.uniform([1, 3, 224, 224], in: -1...1, using: &generator)
#if PERISCOPE_NO_AUTOGRAD
let variant = "no-autograd"
#else
let variant = "autograd"
#endif

/// CPU time of the whole process in milliseconds (insensitive to preemption by other processes).
func processCPUMilliseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1e3 + Double(time.tv_nsec) / 1e6
}

/// One forward pass in no-grad mode; returns wall and CPU milliseconds and the first logit.
@MainActor func timedForward() throws -> (wall: Double, cpu: Double, logit: Float) {
    let start = DispatchTime.now().uptimeNanoseconds, startCPU = processCPUMilliseconds()
    let output = try GradMode.withDisabled { try model(input) }
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6, cpu = processCPUMilliseconds() - startCPU
    precondition(!output.requiresGrad, "no-grad forward recorded a graph")
    return (elapsed, cpu, output.toArray()[0])
}

if CommandLine.arguments.dropFirst().first == "attribute" {
    // Attribution cost next to the forward pass: saliency (input, layer3 and layer4 gradients) and
    // Grad-CAM of layer4, class 7, medians of 5 after a warm-up.
    #if !PERISCOPE_NO_AUTOGRAD
    func median(_ body: () throws -> Void) rethrows -> Double {
        try body()
        var times: [Double] = []
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return times.sorted()[2]
    }
    let forward = try median { _ = try timedForward() }  // wall time
    let saliency = try median { _ = try model.attribute(AttributionRequest(target: .classIndex(7), layers: ["layer3", "layer4"]), input: input) }
    let gradcam = try median { _ = try model.attribute(AttributionRequest(target: .classIndex(7), method: .gradcam, layers: ["layer4"]), input: input) }
    print(String(format: "forward (no-grad) %.1f ms, saliency %.1f ms (%.1f×), gradcam layer4 %.1f ms (%.1f×)",
                 forward, saliency, saliency / forward, gradcam, gradcam / forward))
    #endif
} else if CommandLine.arguments.dropFirst().first == "serve" {
    print("ready \(variant) parameters-require-grad \(model.parameters().allSatisfy(\.requiresGrad))")
    fflush(nil)
    while readLine() != nil {
        let (milliseconds, cpu, logit) = try timedForward()
        print("ms \(milliseconds) logit \(logit) cpu \(cpu)")
        fflush(nil)
    }
} else {
    let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
    let iterations = arguments.first ?? 20, warmup = arguments.dropFirst().first ?? 3
    for iteration in 0..<(warmup + iterations) {
        let (milliseconds, cpu, _) = try timedForward()
        if iteration >= warmup { print("ms \(milliseconds) cpu \(cpu)") }
    }
    print("variant \(variant) parameters-require-grad \(model.parameters().allSatisfy(\.requiresGrad))")
}
