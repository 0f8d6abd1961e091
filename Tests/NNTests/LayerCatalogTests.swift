import NN
import Tensors
import Testing
import TestSupport

@Suite struct LayerCatalogTests {
    private func model() -> MiniResNet { withRandomSeed(5) { MiniResNet(widths: [4, 4, 8, 8], classCount: 3) }.eval() }

    @Test func traceListsEveryCallInStartOrderWithFXNamesShapesAndCounts() throws {
        let model = model()
        let input = randomTensor([1, 3, 32, 32], seed: 6)
        let catalog = try model.traceLayers { try model(input) }
        #expect(catalog.isTraced)
        #expect(catalog.names.prefix(8) == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer1.0", "layer1.0.conv1", "layer1.0.bn1"])
        #expect(catalog.names.suffix(3) == ["layer4.0.relu_1", "avgpool", "fc"])
        let relu = catalog.layer(named: "layer2.0.relu_1")!
        #expect(relu.modulePath == "layer2.0.relu" && relu.call == 1 && relu.callCount == 2 && relu.moduleType == "ReLU")
        #expect(relu.outputShape == [1, 4, 4, 4])
        #expect(catalog.layer(named: "layer2")!.outputShape == [1, 4, 4, 4])
        #expect(catalog.layer(named: "fc")!.parameterCount == 8 * 3 + 3)
        #expect(catalog.layer(named: "conv1")!.callCount == 1)
        #expect(catalog.outputShape == [1, 3])
        #expect(catalog.totalParameterCount == model.parameterCount)
        // Layers that run twice appear twice; all modules are listed as paths.
        #expect(catalog.layers.count == catalog.modulePaths.count + 4)
        #expect(model.hookCount == 0)
    }

    @Test func traceRemovesItsHooksWhenTheForwardThrows() throws {
        let model = Sequential(Linear(inFeatures: 2, outFeatures: 2), Failing())
        #expect(throws: Failing.Failure.self) { try model.traceLayers { try model(randomTensor([1, 2], seed: 1)) } }
        #expect(model.hookCount == 0)
    }

    @Test func staticCatalogListsTheModuleTreeWithoutRunning() {
        let model = model()
        let catalog = LayerCatalog(moduleTreeOf: model)
        #expect(!catalog.isTraced)
        #expect(catalog.names == model.namedModules().dropFirst().map(\.name))
        #expect(catalog.layers.allSatisfy { $0.outputShape == nil && $0.callCount == nil && $0.call == 0 })
    }

    @Test func catalogRoundTripsThroughJSON() throws {
        let model = model()
        let catalog = try model.traceLayers { try model(randomTensor([1, 3, 32, 32], seed: 6)) }
        let data = try JSONEncoder().encode(catalog)
        #expect(try JSONDecoder().decode(LayerCatalog.self, from: data) == catalog)
    }

    @Test func layerNamesFollowTorchvisionFXNaming() {
        #expect(LayerCatalog.layerName(modulePath: "layer1.0.relu", call: 0) == "layer1.0.relu")
        #expect(LayerCatalog.layerName(modulePath: "layer1.0.relu", call: 2) == "layer1.0.relu_2")
    }
}

import Foundation
