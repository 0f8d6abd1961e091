import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

// Input attributions (Module+InputAttribution.swift) on the fixture ResNet against Captum 0.9
// (Tests/Fixtures/gradients/path_attributions.safetensors, written by
// scripts/fixtures/make_path_attribution_fixtures.py), within 1e-4 of the reference's largest
// magnitude, whatever the number of copies stacked per pass.

private let references = Loaded { try SafetensorsFile(contentsOf: Fixtures.url("gradients/path_attributions.safetensors")) }

@Suite struct InputAttributionTests {
    private func attribute(_ method: AttributionMethod, _ options: InputAttributionOptions,
                           noise: ((Int, String) -> Tensor)? = nil) throws -> CapturedFeatures {
        let replica = try ResNetTests.fixtureModel().makeReplica()
        let request = Attribution(target: .classIndex(7), method: method, inputAttribution: options)
        // The model's own call with recording on (`forward(inputs:)` runs without).
        return try replica.module.attributeInputs(request, inputs: ["input": try ResNetTests.fixtureInput()], noise: noise) { arguments in
            try replica.model.architecture.run(replica.module, inputs: arguments)
        }
    }

    /// Every rule, four of the six points per pass (the other tests cover one and three per pass).
    @Test(arguments: IntegrationRule.allCases)
    func integratedGradientsMatchCaptum(rule: IntegrationRule) async throws {
        try await onDedicatedThread {
            let maps = try attribute(.integratedGradients, InputAttributionOptions(steps: 6, rule: rule, copiesPerPass: 4))
            #expect(maps.names == ["integrated_gradients"])
            let error = relativeError(maps["integrated_gradients"], try references.get().tensor(named: "ig.\(rule.rawValue)"))
            #expect(error <= 1e-4, "\(rule.rawValue): relative error \(error)")
        }
    }

    @Test func integratedGradientsWithAConstantBaselineMatchCaptum() async throws {
        try await onDedicatedThread {
            let maps = try attribute(.integratedGradients, InputAttributionOptions(steps: 6, baseline: 0.25, copiesPerPass: 3))
            let error = relativeError(maps["integrated_gradients"], try references.get().tensor(named: "ig.baseline_0.25.gausslegendre"))
            #expect(error <= 1e-4, "relative error \(error)")
        }
    }

    @Test func inputXGradientMatchesCaptum() async throws {
        try await onDedicatedThread {
            let maps = try attribute(.inputXGradient, InputAttributionOptions())
            let error = relativeError(maps["input_x_gradient"], try references.get().tensor(named: "input_x_gradient"))
            #expect(error <= 1e-4, "relative error \(error)")
        }
    }

    /// SmoothGrad with Captum's noise given: the mean gradient over the noisy inputs.
    @Test(arguments: [1, 2])
    func smoothGradMatchesCaptum(copiesPerPass: Int) async throws {
        try await onDedicatedThread {
            let noise = try references.get().tensor(named: "smoothgrad.noise")
            let maps = try attribute(.smoothGrad, InputAttributionOptions(samples: 3, copiesPerPass: copiesPerPass)) { sample, _ in
                noise.selecting(axis: 0, index: sample)
            }
            let error = relativeError(maps["smoothgrad"], try references.get().tensor(named: "smoothgrad"))
            #expect(error <= 1e-4, "relative error \(error)")
        }
    }

    /// The seeded generator: the same seed gives the same map, another seed another map.
    @Test func smoothGradNoiseFollowsTheSeed() async throws {
        try await onDedicatedThread {
            let first = try attribute(.smoothGrad, InputAttributionOptions(samples: 2, noiseStandardDeviation: 0.3, seed: 5))
            let again = try attribute(.smoothGrad, InputAttributionOptions(samples: 2, noiseStandardDeviation: 0.3, seed: 5, copiesPerPass: 2))
            let other = try attribute(.smoothGrad, InputAttributionOptions(samples: 2, noiseStandardDeviation: 0.3, seed: 6))
            let a = try #require(first["smoothgrad"]), b = try #require(again["smoothgrad"]), c = try #require(other["smoothgrad"])
            let same = try #require(difference(a, b))
            #expect(same.maxAbsoluteError <= 1e-6 * max(same.referenceMaxMagnitude, 1))
            let different = try #require(difference(a, c))
            #expect(different.maxAbsoluteError > 1e-3 * different.referenceMaxMagnitude)
        }
    }

    /// Gauss–Legendre points and weights: numpy's `leggauss`, rescaled to [0, 1] as Captum does.
    @Test func gaussLegendrePointsMatchNumpy() {
        let (alphas, weights) = IntegrationRule.gaussLegendre.points(steps: 3)
        // leggauss(3): nodes ∓√(3/5), 0; weights 5/9, 8/9, 5/9.
        let root = (3.0 / 5.0).squareRoot()
        let expectedAlphas = [0.5 * (1 - root), 0.5, 0.5 * (1 + root)], expectedWeights = [5.0 / 18, 8.0 / 18, 5.0 / 18]
        for index in 0..<3 {
            #expect(abs(alphas[index] - expectedAlphas[index]) < 1e-14)
            #expect(abs(weights[index] - expectedWeights[index]) < 1e-14)
        }
        for steps in [1, 2, 7, 50, 200] {
            let points = IntegrationRule.gaussLegendre.points(steps: steps)
            #expect(abs(points.weights.reduce(0, +) - 1) < 1e-12, "\(steps) weights sum to \(points.weights.reduce(0, +))")
            #expect(zip(points.alphas, points.alphas.dropFirst()).allSatisfy { $0 < $1 } && points.alphas.allSatisfy { (0...1).contains($0) })
        }
    }

    /// A model without a floating-point input (BERT's token ids) has nothing to attribute.
    @Test func integerInputsAreRejected() throws {
        let module = Identity()
        let request = Attribution(target: .outputIndex([0]), method: .integratedGradients)
        #expect(throws: AttributionError.noDifferentiableInput(inputs: ["input_ids"])) {
            _ = try module.attribute(request, inputs: ["input_ids": Tensor(shape: [1], elements: [Int64(3)])]) { $0["input_ids"]! }
        }
    }
}
