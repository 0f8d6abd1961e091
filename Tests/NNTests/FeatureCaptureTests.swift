import Foundation
import NN
import Synchronization
import Tensors
import Testing
import TestSupport

// Scoped capture (Module+Capture): each test is named after the hook pitfall it covers.

/// Linear → ReLU → Linear → counter, with a ReLU reused (so it runs twice).
private final class TwoLayer: UnaryModule {
    let fc1 = Linear(inFeatures: 4, outFeatures: 4)
    let act = ReLU()
    let fc2 = Linear(inFeatures: 4, outFeatures: 3)
    let tail = CallCounter()
    override func forward(_ input: Tensor) throws -> Tensor {
        try tail(act(fc2(act(fc1(input)))))
    }
}

/// An inference-engine style kernel that overwrites its input's buffer in place through the raw
/// pointer — what fused/in-place kernels and buffer reuse do. Copy-on-write cannot see it.
private final class UncheckedInPlaceNegate: UnaryModule {
    override func forward(_ input: Tensor) throws -> Tensor {
        let pointer = UnsafeMutableRawPointer(mutating: input.rawPointer).assumingMemoryBound(to: Float.self)
        for i in 0..<input.count { pointer[i] = -pointer[i] }
        return input
    }
}

/// A layer that writes every output into one preallocated workspace it reuses on each call
/// (an arena allocator). A second call overwrites what the first returned.
private final class ReusedWorkspace: UnaryModule {
    private let workspace = TensorStorage(byteCount: 4 * 4)
    override func forward(_ input: Tensor) throws -> Tensor {
        let out = Tensor(shape: input.shape, dtype: .float32, storage: workspace)
        let destination = workspace.base.assumingMemoryBound(to: Float.self)
        input.withFloats { source in for i in source.indices { destination[i] = source[i] * 2 } }
        return out
    }
}

private final class InPlaceModel: UnaryModule {
    let double = AddConstant(0)
    let negate = UncheckedInPlaceNegate()
    override func forward(_ input: Tensor) throws -> Tensor { try negate(double(input * 2)) }
}

private final class ReuseModel: UnaryModule {
    let scratch = ReusedWorkspace()
    override func forward(_ input: Tensor) throws -> Tensor {
        let first = try scratch(input)
        let firstSum = first.toArray().reduce(0, +)
        let second = try scratch(input + 1)
        return second + firstSum
    }
}

/// Stores intermediate results on `self` — the PyTorch habit capture makes unnecessary.
private final class StoresOnSelf: UnaryModule {
    let fc = Linear(inFeatures: 2, outFeatures: 2)
    var lastHidden: Tensor?
    override func forward(_ input: Tensor) throws -> Tensor {
        let hidden = try fc(input)
        lastHidden = hidden
        return hidden
    }
}

@Suite struct FeatureCaptureTests {
    private func model(seed: UInt64 = 7) -> TwoLayer { withRandomSeed(seed) { TwoLayer() } }
    private let x = randomTensor([2, 4], seed: 11)

    @Test func capturesTheRequestedLayersDetachedAndCopied() throws {
        let model = model()
        let features = try model.captureFeatures(layers: ["fc1", "fc2"]) { try model(x) }
        #expect(features.names == ["fc1", "fc2"])
        let fc1 = try model.fc1(x)
        #expect(features["fc1"]!.toArray() == fc1.toArray())
        #expect(features["fc2"]!.toArray() == (try model.fc2(fc1.relu())).toArray())
    }

    @Test func hooksOnActivationsNameRepeatedCallsLikeFX() throws {
        // Activations are modules: the reused ReLU runs twice → `act` and `act_1`.
        let model = model()
        let features = try model.captureFeatures(layers: ["act", "act_1"]) { try model(x) }
        #expect(features.names == ["act", "act_1"])
        #expect(features["act"]!.shape == [2, 4])
        #expect(features["act_1"]!.shape == [2, 3])
        // A glob without a traced catalog takes every call of the matched module.
        let all = try model.captureFeatures(layers: ["a*"], stopEarly: false) { try model(x) }
        #expect(all.names == ["act", "act_1"])
    }

    @Test func hooksRetainingGraphsCapturesAreDetached() throws {
        let model = model()
        var input = x
        input.requiresGrad = true
        var raw: Tensor?
        let features = try model.captureFeatures(layers: ["fc2"], stopEarly: false) {
            raw = try model(input)
        }
        #expect(raw?.requiresGrad == true)  // the model's own output carries a graph…
        #expect(features["fc2"]!.gradientNode == nil)  // …a captured feature never does
        #expect(features["fc2"]!.storage !== raw?.storage)
    }

    @Test func hookHandlesNotRemovedCaptureLeavesZeroHooks() throws {
        let model = model()
        #expect(model.hookCount == 0)
        for selection: [LayerSelector] in [["fc1"], ["act_1", "output"], ["fc*:input"], [-1]] {
            _ = try model.captureFeatures(layers: selection) { try model(x) }
            #expect(model.hookCount == 0)
        }
        #expect(model.modules().allSatisfy { $0.canSkipHooks })
    }

    @Test func hooksNotRemovedOnErrorForwardThrowsLeavesZeroHooks() throws {
        let model = Sequential(Linear(inFeatures: 4, outFeatures: 4), Failing(), Linear(inFeatures: 4, outFeatures: 4))
        #expect(throws: Failing.Failure.self) {
            try model.captureFeatures(layers: ["0", "2", "output"]) { try model(x) }
        }
        #expect(model.hookCount == 0)
    }

    @Test func globalStateInHooksConcurrentCapturesOnReplicasStayApart() throws {
        // Two threads, two replicas sharing weights, different inputs, many rounds: each capture
        // must see exactly its own results.
        let original = model()
        let weights = original.stateDict()
        let inputs = [randomTensor([2, 4], seed: 100), randomTensor([2, 4], seed: 200)]
        let expected = try inputs.map { input in try original.fc2(original.fc1(input).relu()).toArray() }
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for worker in 0..<2 {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do {
                    let replica = TwoLayer()
                    try replica.loadStateDict(weights)
                    for round in 0..<200 {
                        let features = try replica.captureFeatures(layers: ["fc2"]) { try replica(inputs[worker]) }
                        if features["fc2"]?.toArray() != expected[worker] || replica.hookCount != 0 {
                            failures.withLock { $0.append("worker \(worker) round \(round)") }
                        }
                    }
                } catch {
                    failures.withLock { $0.append("worker \(worker): \(error)") }
                }
            }
            thread.start()
        }
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty)
    }

    @Test func intermediateResultsStoredOnSelfAreNotNeeded() throws {
        // The capture gets the hidden layer from a model that does not store it…
        let clean = withRandomSeed(3) { Sequential(Linear(inFeatures: 2, outFeatures: 2)) }
        let input = randomTensor([1, 2], seed: 4)
        let features = try clean.captureFeatures(layers: ["0"]) { try clean(input) }
        // …and equals what a model that stores it on self would have kept.
        let storing = StoresOnSelf()
        try storing.loadStateDict(StateDict(clean.stateDict().map { ("fc." + $0.key.dropFirst(2), $0.tensor) }))
        _ = try storing(input)
        #expect(features["0"]!.toArray() == storing.lastHidden!.toArray())
    }

    @Test func inPlaceCorruptionAfterTheHookedLayerViewWouldBeWrongCopyIsRight() throws {
        let model = InPlaceModel()
        let input = Tensor(shape: [3], scalars: [1, 2, 3])
        // What a naive hook keeping the output (a view of its buffer) would hold:
        var view: Tensor?
        let handle = model.double.registerForwardHook { _, _, output in
            view = output.detached()
            return nil
        }
        _ = try model(input)
        handle.remove()
        #expect(view!.toArray() == [-2, -4, -6])  // corrupted by the later in-place op
        // The scoped capture stores a copy taken when the layer ran:
        let features = try model.captureFeatures(layers: ["double"]) { try model(input) }
        #expect(features["double"]!.toArray() == [2, 4, 6])
    }

    @Test func bufferReuseAcrossCallsViewWouldBeWrongCopyIsRight() throws {
        let model = ReuseModel()
        let input = Tensor(shape: [2], scalars: [1, 2])
        var views: [Tensor] = []
        let handle = model.scratch.registerForwardHook { _, _, output in
            views.append(output.detached())
            return nil
        }
        _ = try model(input)
        handle.remove()
        #expect(views[0].toArray() == [4, 6])  // the first call's output was overwritten by the second
        let features = try model.captureFeatures(layers: ["scratch", "scratch_1"]) { try model(input) }
        #expect(features["scratch"]!.toArray() == [2, 4])
        #expect(features["scratch_1"]!.toArray() == [4, 6])
    }

    @Test func earlyStopSkipsTheLayersAfterTheLastRequestedOne() throws {
        let model = model()
        _ = try model.captureFeatures(layers: ["fc2"]) { try model(x) }
        #expect(model.tail.calls == 0)  // stopped after fc2: the counter never ran
        _ = try model.captureFeatures(layers: ["fc2"], stopEarly: false) { try model(x) }
        #expect(model.tail.calls == 1)
        _ = try model.captureFeatures(layers: ["fc2", "output"]) { try model(x) }
        #expect(model.tail.calls == 2)  // the final output needs the whole pass
        _ = try model.captureFeatures(layers: ["act_1"]) { try model(x) }
        #expect(model.tail.calls == 2)
    }

    @Test func earlyStopWorksThroughNestedContainers() throws {
        let counter = CallCounter()
        let model = Sequential(Sequential(Linear(inFeatures: 4, outFeatures: 4), Sequential(ReLU())), counter)
        let features = try model.captureFeatures(layers: ["0.1.0"]) { try model(x) }
        #expect(features.names == ["0.1.0"])
        #expect(counter.calls == 0)
        #expect(model.hookCount == 0)
    }

    @Test func outputIsTheModelsFinalOutput() throws {
        let model = model()
        var direct: Tensor?
        let features = try model.captureFeatures(layers: ["output"]) { direct = try model(x) }
        #expect(features["output"]!.toArray() == direct!.toArray())
    }

    @Test func inputOfALayerUsesAPreHook() throws {
        let model = model()
        let features = try model.captureFeatures(layers: ["fc2:input", "act_1:input"]) { try model(x) }
        let hidden = try model.fc1(x).relu()
        #expect(features["fc2:input"]!.toArray() == hidden.toArray())
        #expect(features["act_1:input"]!.toArray() == (try model.fc2(hidden)).toArray())
    }

    @Test func unknownLayersFailBeforeRunningWithTheClosestNames() throws {
        let model = model()
        var ran = false
        do {
            _ = try model.captureFeatures(layers: ["fc3"]) { ran = true }
            Issue.record("expected an error")
        } catch let error as CaptureError {
            guard case .unknownLayer(let name, let closest) = error else { throw error }
            #expect(name == "fc3")
            #expect(closest.prefix(2) == ["fc1", "fc2"])
            #expect(error.description.contains("closest valid names: fc1, fc2"))
        }
        #expect(!ran)
        #expect(model.hookCount == 0)
    }

    @Test func aLayerThatDoesNotRunIsReportedMissing() throws {
        let model = model()
        #expect(throws: CaptureError.layersNotProduced(["act_5"])) {
            try model.captureFeatures(layers: ["act_5"]) { try model(x) }
        }
        #expect(model.hookCount == 0)
    }

    @Test func capturesAreSendableValuesThatOutliveTheModel() async throws {
        var features: CapturedFeatures?
        do {
            let model = model()
            features = try model.captureFeatures(layers: ["fc1"]) { try model(x) }
        }
        let copy = features!
        let sum = await Task.detached { copy["fc1"]!.toArray().reduce(0, +) }.value
        #expect(sum.isFinite)
    }

    @Test func aSelectionResolvedAgainstATracedCatalogCapturesTheNamedCalls() throws {
        let model = model()
        let catalog = try model.traceLayers { try model(x) }
        // Order: fc1, act, fc2, act_1, tail → -3 is fc2.
        let selection = try LayerSelection(["act_1", -3, "fc*"], in: catalog)
        #expect(selection.names == ["act_1", "fc2", "fc1"])
        let features = try model.captureFeatures(selection) { try model(x) }
        #expect(Set(features.names) == ["fc1", "fc2", "act_1"])
        #expect(model.tail.calls == 1)  // tracing ran it; the capture stopped before it
    }
}
