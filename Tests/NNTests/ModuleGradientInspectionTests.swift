import NN
import Tensors
import Testing
import TestSupport

// The gradient inspector (Module+GradientInspection.swift, GradientStatistics, GradientThresholds,
// GradientReport): per-layer statistics against gradients computed directly, FX names for
// repeated calls, flags and thresholds, layers off the loss path, selections, and no hooks left
// behind — also when the pass throws.

/// A two-layer chain whose second weight is `scale` everywhere.
private func chain(secondWeight scale: Float) -> Sequential {
    let first = Linear(inFeatures: 3, outFeatures: 2), second = Linear(inFeatures: 2, outFeatures: 2)
    second.weight.value = Tensor(shape: [2, 2], repeating: scale)
    return Sequential(first, second)
}

@Suite struct ModuleGradientInspectionTests {
    @Test func statisticsSummarizeMagnitudes() {
        let figures = GradientStatistics(of: Tensor(shape: [5], scalars: [-3, 1, .nan, -1, 3]))
        #expect(figures.count == 5 && figures.nonFiniteCount == 1)
        #expect(figures.mean == 2 && figures.standardDeviation == 1 && figures.maximum == 3 && figures.minimum == 1)
        let thresholds = GradientThresholds()
        #expect(thresholds.isExploding(figures) && !thresholds.isVanishing(figures))
    }

    @Test func reportsEveryLayerCallWithItsOutputGradient() throws {
        let model = MiniResNet(widths: [4, 8, 8, 8], classCount: 5).eval()
        let input = randomTensor([2, 3, 32, 32], seed: 3)
        var avgpoolOutput: Tensor?
        let probe = model.avgpool.registerForwardHook { _, _, output in avgpoolOutput = output; return nil }
        let report = try model.inspectGradients {
            try model(input).sum().backward()
        }
        probe.remove()
        #expect(model.hookCount == 0)
        let names = report.layers.map(\.name)
        #expect(names.first == "conv1" && names.last == "fc")
        #expect(names.contains("layer1.0.relu") && names.contains("layer1.0.relu_1"))
        #expect(report.layersWithoutGradient.isEmpty)
        // ∂Σ fc(x)/∂fc(x) = 1 everywhere.
        #expect(report.layer("fc")?.statistics == GradientStatistics(count: 10, mean: 1, standardDeviation: 0, maximum: 1, minimum: 1, nonFiniteCount: 0))
        // ∂Σ fc(x)/∂avgpool = Σ_o W[o, :] per sample.
        let expected = model.fc.weight.value.detached().sum(axes: [0]).broadcast(to: [2, 8]).reshaped([2, 8, 1, 1])
        let avgpool = try #require(report.layer("avgpool"))
        #expect(avgpool.kind == "AdaptiveAvgPool2d" && avgpoolOutput?.shape == [2, 8, 1, 1])
        #expect(abs(avgpool.statistics.mean - GradientStatistics(of: expected).mean) < 1e-6)
        #expect(abs(avgpool.statistics.maximum - GradientStatistics(of: expected).maximum) < 1e-6)
        // A container's output is its last child's output: the same gradient.
        #expect(report.layer("layer4")?.statistics == report.layer("layer4.0")?.statistics)
        // Parameters, in named order, with their accumulated gradients.
        #expect(report.parameters.map(\.name) == model.namedParameters().map(\.name))
        #expect(report.parameters.first { $0.name == "fc.bias" }?.statistics.mean == 2)
    }

    @Test func flagsVanishingAndExplodingGradientsWithConfigurableThresholds() throws {
        let x = randomTensor([4, 3], seed: 1)
        let tiny = chain(secondWeight: 1e-9)
        let vanishing = try tiny.inspectGradients(includeParameters: false) { try tiny(x).sum().backward() }
        #expect(vanishing.vanishing == ["0"] && vanishing.exploding.isEmpty)

        let huge = chain(secondWeight: 1e6)
        let exploding = try huge.inspectGradients(includeParameters: false) { try huge(x).sum().backward() }
        #expect(exploding.exploding == ["0"] && exploding.vanishing.isEmpty)
        let relaxed = try huge.inspectGradients(thresholds: GradientThresholds(vanishing: 0, exploding: 1e7), includeParameters: false) {
            try huge(x).sum().backward()
        }
        #expect(relaxed.exploding.isEmpty && relaxed.layer("0")?.isExploding == false)
    }

    @Test func selectedLayersOffTheLossPathAreListedWithoutGradient() throws {
        let model = MiniResNet(widths: [4, 4, 4, 4], classCount: 3).eval()
        var layer2: Tensor?
        let probe = model.layer2.registerForwardHook { _, _, output in layer2 = output; return nil }
        defer { probe.remove() }
        let report = try model.inspectGradients(layers: ["layer2", "layer4.0.relu", "fc"], includeParameters: false) {
            _ = try model(randomTensor([1, 3, 32, 32], seed: 2))
            // The loss depends on layer2 only.
            try layer2!.sum().backward()
        }
        #expect(report.layers.map(\.name) == ["layer2"])
        // A module path names its first call (`layer4.0.relu`, not `layer4.0.relu_1`).
        #expect(report.layersWithoutGradient == ["layer4.0.relu", "fc"])
        #expect(report.layer("layer2")?.statistics.mean == 1)
    }

    @Test func probesAreRemovedWhenThePassThrowsAndUnknownLayersFailFirst() throws {
        let model = Sequential(AddConstant(1), Failing())
        #expect(throws: Failing.Failure.self) {
            _ = try model.inspectGradients { try model(Tensor(shape: [1], scalars: [1])).sum().backward() }
        }
        #expect(model.hookCount == 0)
        #expect(throws: CaptureError.self) {
            _ = try model.inspectGradients(layers: ["nope"]) { Issue.record("body ran") }
        }
        #expect(model.hookCount == 0)
    }
}
