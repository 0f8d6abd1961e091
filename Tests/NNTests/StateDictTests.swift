import NN
import Tensors
import Testing
import TestSupport

// Module+StateDict and StateDict: keys, order, strict and non-strict loading, dtypes, replicas.

/// A small composite with every kind of slot: nested blocks, an absent optional child, a
/// non-persistent buffer, a list and a dict.
private final class Composite: UnaryModule {
    let stem = Conv2d(inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, bias: false)
    let norm = BatchNorm2d(featureCount: 4)
    let blocks = ModuleList([BasicBlock(inChannels: 4, outChannels: 4), BasicBlock(inChannels: 4, outChannels: 8, stride: 2)])
    let heads = ModuleDict<Linear>([("main", Linear(inFeatures: 8, outFeatures: 2)), ("aux", Linear(inFeatures: 8, outFeatures: 1, bias: false))])
    let scale = Parameter(Tensor(shape: [1], repeating: 1))
    let positionIds = Buffer(Tensor(shape: [3], elements: [Int64(0), 1, 2]), persistent: false)
    let unusedHead: Linear? = nil

    override func forward(_ input: Tensor) throws -> Tensor {
        var x = try norm(stem(input))
        for block in blocks { x = try block(x) }
        return try heads["main"]!(x.mean(axes: [2, 3])) * scale.value.to(.float32)
    }
}

@Suite struct StateDictTests {
    @Test func goldenKeyOrderOfACompositeModel() {
        let keys = Composite().stateDict().keys
        let bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
        func block(_ prefix: String, downsample: Bool) -> [String] {
            ["\(prefix).conv1.weight"] + bn.map { "\(prefix).bn1.\($0)" } + ["\(prefix).conv2.weight"] + bn.map { "\(prefix).bn2.\($0)" }
                + (downsample ? ["\(prefix).downsample.0.weight"] + bn.map { "\(prefix).downsample.1.\($0)" } : [])
        }
        let expected = ["scale", "stem.weight"] + bn.map { "norm.\($0)" } + block("blocks.0", downsample: false)
            + block("blocks.1", downsample: true) + ["heads.main.weight", "heads.main.bias", "heads.aux.weight"]
        #expect(keys == expected)
        #expect(!keys.contains("position_ids"))
    }

    @Test func stateDictBuffersKeepTheirDtypesAndValuesAreDetached() {
        let model = Composite()
        model.requiresGrad(true)
        let state = model.stateDict()
        #expect(state["norm.num_batches_tracked"]?.dtype == .int64)
        #expect(state["norm.num_batches_tracked"]?.shape == [])
        #expect(state.allSatisfy { $0.tensor.gradientNode == nil })
        #expect(model.stem.weight.value.requiresGrad)
        // Values share storage with the model (copy-on-write, no copy).
        #expect(state["stem.weight"]!.storage === model.stem.weight.value.storage)
    }

    @Test func strictLoadingListsMissingAndUnexpectedKeysAndChangesNothing() throws {
        let model = withRandomSeed(1) { Composite() }
        let before = model.stem.weight.value.toArray()
        var state = withRandomSeed(2) { Composite() }.stateDict()
        state["heads.main.bias"] = nil
        state["heads.extra.weight"] = Tensor(zeros: [1])
        #expect(throws: StateDictError.keyMismatch(missing: ["heads.main.bias"], unexpected: ["heads.extra.weight"])) {
            try model.loadStateDict(state)
        }
        #expect(model.stem.weight.value.toArray() == before)
    }

    @Test func nonStrictLoadingLoadsTheRestAndReturnsTheMismatches() throws {
        let model = withRandomSeed(1) { Composite() }
        let source = withRandomSeed(2) { Composite() }
        var state = source.stateDict()
        state["heads.main.bias"] = nil
        state["heads.extra.weight"] = Tensor(zeros: [1])
        let result = try model.loadStateDict(state, strict: false)
        #expect(result == StateDictLoadResult(missingKeys: ["heads.main.bias"], unexpectedKeys: ["heads.extra.weight"]))
        #expect(model.stem.weight.value.toArray() == source.stem.weight.value.toArray())
        #expect(model.heads["main"]!.bias!.value.toArray() != source.heads["main"]!.bias!.value.toArray())
    }

    @Test func shapeMismatchNamesTheKeyAndBothShapes() throws {
        let model = Composite()
        var state = model.stateDict()
        state["heads.main.weight"] = Tensor(zeros: [3, 8])
        #expect(throws: StateDictError.shapeMismatch(key: "heads.main.weight", expected: [2, 8], found: [3, 8])) {
            try model.loadStateDict(state)
        }
        #expect(throws: StateDictError.self) { try model.loadStateDict(state, strict: false) }
    }

    @Test func halfPrecisionWeightsConvertToFloat32OnLoad() throws {
        let model = Linear(inFeatures: 2, outFeatures: 2)
        let values: [Float] = [0.5, -1.25, 2, 0.125]
        for dtype in [DType.float16, .bfloat16] {
            let state = StateDict([("weight", Tensor(shape: [2, 2], scalars: values).to(dtype)), ("bias", Tensor(zeros: [2]).to(dtype))])
            try model.loadStateDict(state)
            #expect(model.weight.value.dtype == .float32)
            #expect(model.weight.value.toArray() == values)
            #expect(model.weight.value.requiresGrad)
        }
    }

    @Test func toFloat16ConvertsParametersAndBuffersButNotIntegerBuffers() throws {
        let model = withRandomSeed(3) { Composite() }.eval()
        let input = randomTensor([1, 3, 8, 8], seed: 4)
        let full = try model(input)
        model.to(.float16)
        #expect(model.parameters().allSatisfy { $0.value.dtype == .float16 })
        #expect(model.norm.runningMean!.value.dtype == .float16)
        #expect(model.norm.runningVar!.value.dtype == .float16)
        #expect(model.norm.numBatchesTracked!.value.dtype == .int64)
        #expect(model.positionIds.value.dtype == .int64)
        #expect(model.stateDict()["norm.running_var"]?.dtype == .float16)
        // Layers compute in float32 from float16 weights: close to the float32 result.
        let half = try model(input)
        #expect(half.dtype == .float32)
        #expect(isClose(half, full, tolerance: 1e-2))
        model.to(.float32)
        #expect(model.norm.runningMean!.value.dtype == .float32)
    }

    @Test func replicasShareWeightStorageAndCopyOnWrite() throws {
        let original = withRandomSeed(5) { Composite() }.eval()
        let replica = try original.makeReplica { Composite() }
        #expect(!replica.isTraining)
        for ((key, a), (_, b)) in zip(original.stateDict(), replica.stateDict()) {
            #expect(a.storage === b.storage, "\(key) is not shared")
        }
        // Writing to one replica's parameter copies it first: the other is unaffected.
        let before = original.stem.weight.value.toArray()
        replica.stem.weight.value.withMutableFloats { $0[0] += 100 }
        #expect(original.stem.weight.value.toArray() == before)
        #expect(replica.stem.weight.value.toArray()[0] == before[0] + 100)
        #expect(original.stem.weight.value.storage !== replica.stem.weight.value.storage)
        // Training one replica updates its own running statistics only.
        replica.train()
        _ = try replica(randomTensor([2, 3, 8, 8], seed: 6))
        #expect(original.norm.numBatchesTracked!.value.toInt64Array() == [0])
        #expect(replica.norm.numBatchesTracked!.value.toInt64Array() == [1])
        #expect(original.norm.runningMean!.value.storage !== replica.norm.runningMean!.value.storage)
    }

    @Test func replicasHaveTheirOwnAutogradLeaves() throws {
        let original = Linear(inFeatures: 2, outFeatures: 1)
        let replica = try original.makeReplica { Linear(inFeatures: 2, outFeatures: 1) }
        #expect(original.weight.value.gradientNode != nil)
        #expect(original.weight.value.gradientNode !== replica.weight.value.gradientNode)
    }

    @Test func stateDictIsAnOrderedMapping() {
        var state = StateDict([("a", Tensor(zeros: [1])), ("b", Tensor(zeros: [2]))])
        state["a"] = Tensor(zeros: [3])
        state["c"] = Tensor(zeros: [4])
        #expect(state.keys == ["a", "b", "c"])
        #expect(state["a"]?.shape == [3])
        state["b"] = nil
        #expect(state.keys == ["a", "c"])
        #expect(state["c"]?.shape == [4])
        #expect(state.count == 2)
    }
}
