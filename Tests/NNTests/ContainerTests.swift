import NN
import Tensors
import Testing
import TestSupport

// Sequential, ModuleList, ModuleDict and Identity.

@Suite struct ContainerTests {
    @Test func sequentialRunsInOrderWithIndexKeys() throws {
        let model = Sequential(AddConstant(1), AddConstant(10))
        model.append(AddConstant(100))
        #expect(model.namedChildren().map(\.name) == ["0", "1", "2"])
        #expect(model.count == 3)
        #expect(try model(Tensor(shape: [1], scalars: [0])).toArray() == [111])
        #expect((model[1] as? AddConstant)?.constant == 10)
    }

    @Test func sequentialWithNamedLayers() throws {
        let model = Sequential(named: [("head", Linear(inFeatures: 2, outFeatures: 1)), ("act", Sigmoid())])
        #expect(model.stateDict().keys == ["head.weight", "head.bias"])
        #expect(model.module(at: "act") is Sigmoid)
    }

    @Test func moduleListIsTypedAndAppendable() throws {
        let list = ModuleList([Linear(inFeatures: 2, outFeatures: 2)])
        list.append(Linear(inFeatures: 2, outFeatures: 2, bias: false))
        #expect(list.stateDict().keys == ["0.weight", "0.bias", "1.weight"])
        var x = randomTensor([1, 2], seed: 1)
        for layer in list { x = try layer(x) }  // elements are Linear, no casts
        #expect(x.shape == [1, 2])
        #expect(list.count == 2 && list[1].bias == nil)
    }

    @Test func moduleDictKeepsInsertionOrderAndReplacesInPlace() {
        let dictionary = ModuleDict<UnaryModule>([("b", ReLU()), ("a", Linear(inFeatures: 1, outFeatures: 1))])
        #expect(dictionary.keys == ["b", "a"])
        dictionary["b"] = GELU()
        dictionary["c"] = Identity()
        #expect(dictionary.keys == ["b", "a", "c"])
        #expect(dictionary["b"] is GELU)
        dictionary["a"] = nil
        #expect(dictionary.keys == ["b", "c"])
        #expect(dictionary.namedModules().map(\.name) == ["", "b", "c"])
        #expect(dictionary.count == 2)
    }

    @Test func containersAppendedAfterDiscoveryStayVisible() {
        let list = ModuleList<Linear>()
        _ = list.namedModules()
        list.append(Linear(inFeatures: 1, outFeatures: 1))
        #expect(list.namedModules().map(\.name) == ["", "0"])
    }

    @Test func identityReturnsItsInputUnchanged() throws {
        let x = randomTensor([2, 3], seed: 2)
        let y = try Identity()(x)
        #expect(y.storage === x.storage)
        #expect(Identity().stateDict().isEmpty)
    }
}
