import NN
import Tensors
import Testing

@Suite struct ParameterTests {
    @Test func floatParametersAreTheirOwnAutogradLeaves() {
        let parameter = Parameter(Tensor(shape: [2], scalars: [1, 2]))
        #expect(parameter.requiresGrad)
        #expect(parameter.value.gradientNode?.isLeaf == true)
        let leaf = parameter.value.gradientNode
        parameter.value.withMutableFloats { $0[0] = 5 }  // in-place edits keep the leaf
        #expect(parameter.value.gradientNode === leaf)
    }

    @Test func assignedValuesAreDetachedFromForeignGraphs() {
        var source = Tensor(shape: [2], scalars: [1, 2])
        source.requiresGrad = true
        let computed = source * 3
        let parameter = Parameter(Tensor(zeros: [2]))
        parameter.value = computed
        #expect(parameter.value.gradientNode?.isLeaf == true)
        #expect(parameter.value.gradientNode !== computed.gradientNode)
        // Two parameters never share a leaf, even when one is assigned the other's value.
        let other = Parameter(Tensor(zeros: [2]))
        other.value = parameter.value
        #expect(other.value.gradientNode !== parameter.value.gradientNode)
        #expect(other.value.storage === parameter.value.storage)
    }

    @Test func requiresGradFalseLeavesValuesUntracked() {
        let parameter = Parameter(Tensor(zeros: [2]), requiresGrad: false)
        #expect(parameter.value.gradientNode == nil)
        parameter.requiresGrad = true
        #expect(parameter.value.gradientNode != nil)
        parameter.requiresGrad = false
        #expect(parameter.value.gradientNode == nil)
    }

    @Test func integerParametersNeverTrackGradients() {
        let parameter = Parameter(Tensor(zeros: [2], dtype: .int64))
        #expect(parameter.value.gradientNode == nil)
    }

    @Test func buffersAreAlwaysDetached() {
        var source = Tensor(shape: [1], scalars: [1])
        source.requiresGrad = true
        let buffer = Buffer(source * 2)
        #expect(buffer.value.gradientNode == nil)
        buffer.value = source * 4
        #expect(buffer.value.gradientNode == nil)
        #expect(buffer.isPersistent)
        #expect(!Buffer(Tensor(zeros: [1]), persistent: false).isPersistent)
    }

    @Test func boxesKeepTheirIdentityAcrossLoadsAndMoves() throws {
        let linear = Linear(inFeatures: 2, outFeatures: 2)
        let weight = linear.weight
        try linear.loadStateDict(Linear(inFeatures: 2, outFeatures: 2).stateDict())
        linear.to(.float16)
        linear.resetParameters()
        #expect(linear.weight === weight)
        #expect(linear.ownParameters.first?.parameter === weight)
    }
}
