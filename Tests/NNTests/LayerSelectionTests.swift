import NN
import Tensors
import Testing

@Suite struct LayerSelectionTests {
    /// A hand-made traced catalog: `act` runs twice.
    private let catalog: LayerCatalog = {
        func layer(_ path: String, _ call: Int = 0, count: Int = 1) -> LayerCatalog.Layer {
            .init(name: LayerCatalog.layerName(modulePath: path, call: call), modulePath: path, call: call, moduleType: "X",
                  outputShape: [1], callCount: count, parameterCount: 0)
        }
        let layers = [layer("encoder"), layer("encoder.layer.0"), layer("encoder.layer.0.attention"),
                      layer("encoder.layer.0.attention.output"), layer("encoder.layer.0.output"), layer("encoder.layer.1"),
                      layer("encoder.layer.1.attention"), layer("encoder.layer.1.attention.output"), layer("encoder.layer.1.output"),
                      layer("act", 0, count: 2), layer("act", 1, count: 2), layer("pooler")]
        let paths = ["encoder", "encoder.layer", "encoder.layer.0", "encoder.layer.0.attention", "encoder.layer.0.attention.output",
                     "encoder.layer.0.output", "encoder.layer.1", "encoder.layer.1.attention", "encoder.layer.1.attention.output",
                     "encoder.layer.1.output", "act", "pooler", "unused"]
        return LayerCatalog(layers: layers, modulePaths: paths, outputShape: [1], isTraced: true, totalParameterCount: 0)
    }()

    @Test func exactNamesAndModulePrefixes() throws {
        let selection = try LayerSelection(["encoder", "encoder.layer.1", "act_1"], in: catalog)
        #expect(selection.targets == [.init(modulePath: "encoder", call: 0), .init(modulePath: "encoder.layer.1", call: 0),
                                      .init(modulePath: "act", call: 1)])
        #expect(selection.allowsEarlyStop)
    }

    @Test func starMatchesWithinOneSegmentAndDoubleStarAcross() throws {
        #expect(try LayerSelection(["encoder.layer.*.output"], in: catalog).names == ["encoder.layer.0.output", "encoder.layer.1.output"])
        #expect(try LayerSelection(["encoder.**.output"], in: catalog).names
                == ["encoder.layer.0.attention.output", "encoder.layer.0.output", "encoder.layer.1.attention.output", "encoder.layer.1.output"])
        #expect(try LayerSelection(["act*"], in: catalog).names == ["act", "act_1"])
        #expect(try LayerSelection(["encoder.layer.[1-9]"], in: catalog).names == ["encoder.layer.1"])
        #expect(try LayerSelection(["encoder.layer.[!1]"], in: catalog).names == ["encoder.layer.0"])
        #expect(try LayerSelection(["p?oler"], in: catalog).names == ["pooler"])
    }

    @Test func negativeAndPositiveIndicesCountIntoTheLayerList() throws {
        #expect(try LayerSelection([-1], in: catalog).names == ["pooler"])
        #expect(try LayerSelection([-2, 0], in: catalog).names == ["act_1", "encoder"])
        #expect(throws: CaptureError.layerIndexOutOfRange(-13, layerCount: 12)) { try LayerSelection([-13], in: catalog) }
        #expect(throws: CaptureError.layerIndexOutOfRange(12, layerCount: 12)) { try LayerSelection([12], in: catalog) }
    }

    @Test func outputAndInputSpecialNames() throws {
        let selection = try LayerSelection(["output", "pooler:input", "encoder.layer.*:input"], in: catalog)
        #expect(selection.includesOutput)
        #expect(!selection.allowsEarlyStop)
        #expect(selection.names == ["pooler:input", "encoder.layer.0:input", "encoder.layer.1:input", "output"])
    }

    @Test func duplicatesAreCapturedOnce() throws {
        #expect(try LayerSelection(["pooler", -1, "p*"], in: catalog).targets.count == 1)
    }

    @Test func unknownNamesListTheClosestValidNames() {
        #expect(throws: CaptureError.unknownLayer("encoder.layer.2", closest: ["encoder.layer.0", "encoder.layer.1", "encoder.layer", "encoder", "encoder.layer.0.output"])) {
            try LayerSelection(["encoder.layer.2"], in: catalog)
        }
        #expect(throws: CaptureError.noMatchingLayers(pattern: "decoder.*", closest: ["encoder", "pooler", "encoder.layer", "act", "act_1"])) {
            try LayerSelection(["decoder.*"], in: catalog)
        }
        // A module that exists but does not run in the traced pass is not a layer.
        #expect(throws: CaptureError.self) { try LayerSelection(["unused"], in: catalog) }
        #expect(throws: CaptureError.emptySelection) { try LayerSelection([], in: catalog) }
    }

    @Test func staticCatalogsAcceptRepeatedCallSuffixesAndGlobEveryCall() throws {
        let model = Sequential(named: [("block", Sequential(Linear(inFeatures: 1, outFeatures: 1), ReLU()))])
        let catalog = LayerCatalog(moduleTreeOf: model)
        let selection = try LayerSelection(["block.1_2", "block.*"], in: catalog)
        #expect(selection.targets == [.init(modulePath: "block.1", call: 2), .init(modulePath: "block.0", call: nil),
                                      .init(modulePath: "block.1", call: nil)])
        #expect(!selection.allowsEarlyStop)
        #expect(throws: CaptureError.self) { try LayerSelection(["block.2_1"], in: catalog) }
    }

    @Test func selectorsDecodeFromJSONStringsAndIntegers() throws {
        let selectors = try JSONDecoder().decode([LayerSelector].self, from: Data(#"["layer3", "layer4.*.relu", -1]"#.utf8))
        #expect(selectors == [.name("layer3"), .name("layer4.*.relu"), .index(-1)])
        #expect(String(decoding: try JSONEncoder().encode(selectors), as: UTF8.self) == #"["layer3","layer4.*.relu",-1]"#)
    }
}

import Foundation
