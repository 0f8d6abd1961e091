import NN
import Tensors
import Testing
import TestSupport

// Module backward hooks (Module+BackwardHooks.swift): what the hooks see, replacement, ordering
// across a module tree, removal (idempotent, also after the forward pass), errors, repeated
// calls, untracked inputs, multi-input modules, and no cost in no-grad mode.

/// A tracked leaf.
private func trackedLeaf(_ tensor: Tensor) -> Tensor {
    var leaf = tensor
    leaf.requiresGrad = true
    return leaf
}

@Suite struct ModuleBackwardHookTests {
    @Test func fullHookSeesTheGradientsOfInputAndOutput() throws {
        let linear = Linear(inFeatures: 3, outFeatures: 2)
        let x = trackedLeaf(randomTensor([4, 3], seed: 1))
        let seed = randomTensor([4, 2], seed: 2)
        var seen: (gradInput: [Tensor?], gradOutput: [Tensor?])?
        linear.registerFullBackwardHook { module, gradInput, gradOutput in
            #expect(module === linear)
            seen = (gradInput, gradOutput)
            return nil
        }
        try linear(x).backward(gradient: seed)
        let expectedInput = Tensor.matmul(seed, linear.weight.value.detached())
        #expect(seen?.gradOutput.count == 1 && isClose(seen!.gradOutput[0]!, seed, tolerance: 0))
        #expect(seen?.gradInput.count == 1 && isClose(seen!.gradInput[0]!, expectedInput, tolerance: 1e-6))
        #expect(isClose(x.grad!, expectedInput, tolerance: 1e-6))
        #expect(isClose(linear.weight.grad!, Tensor.matmul(seed, x.detached(), transposeA: true), tolerance: 1e-6))
    }

    @Test func hooksMayReplaceTheInputGradientInOrder() throws {
        let module = AddConstant(1)
        let x = trackedLeaf(Tensor(shape: [2], scalars: [1, 2]))
        var order: [String] = []
        module.registerFullBackwardHook { _, gradInput, _ in
            order.append("second sees \(gradInput[0]!.toArray())")
            return [gradInput[0]! + 1]
        }
        module.registerFullBackwardHook(prepend: true) { _, gradInput, _ in
            order.append("first sees \(gradInput[0]!.toArray())")
            return [gradInput[0]! * 10]
        }
        try module(x).sum().backward()
        #expect(order == ["first sees [1.0, 1.0]", "second sees [10.0, 10.0]"])
        #expect(x.grad?.toArray() == [11, 11])
    }

    @Test func preHooksMayReplaceTheOutputGradientBeforeTheModuleRuns() throws {
        let linear = Linear(inFeatures: 2, outFeatures: 2, bias: true)
        let x = trackedLeaf(Tensor(shape: [1, 2], scalars: [3, 4]))
        var fullHookSaw: [Float]?
        linear.registerFullBackwardPreHook { _, gradOutput in [gradOutput[0]! * 2] }
        linear.registerFullBackwardHook { _, _, gradOutput in
            fullHookSaw = gradOutput[0]?.toArray()
            return nil
        }
        try linear(x).sum().backward()
        #expect(fullHookSaw == [2, 2])
        #expect(linear.bias!.grad?.toArray() == [2, 2])
        #expect(isClose(x.grad!, linear.weight.value.detached().sum(axes: [0], keepingDimensions: true) * 2, tolerance: 1e-6))
    }

    @Test func hooksFireFromTheOutputBackAndContainersAroundTheirChildren() throws {
        let first = AddConstant(1), second = AddConstant(2)
        let sequence = Sequential(first, second)
        var order: [String] = []
        for (name, module) in [("seq", sequence as Module), ("a", first), ("b", second)] {
            module.registerFullBackwardPreHook { _, _ in order.append("\(name) pre"); return nil }
            module.registerFullBackwardHook { _, _, _ in order.append("\(name) full"); return nil }
        }
        let x = trackedLeaf(Tensor(shape: [2], scalars: [0, 0]))
        try sequence(x).sum().backward()
        #expect(order == ["seq pre", "b pre", "b full", "a pre", "a full", "seq full"])
    }

    @Test func aModuleCalledTwiceRunsItsHooksForEachCall() throws {
        let shared = AddConstant(0)
        var calls = 0
        shared.registerFullBackwardHook { _, _, _ in calls += 1; return nil }
        let x = trackedLeaf(Tensor(shape: [1], scalars: [1]))
        try (shared(shared(x) * 3)).sum().backward()
        #expect(calls == 2)
        #expect(x.grad?.toArray() == [3])
    }

    @Test func removalIsIdempotentAppliesToRecordedGraphsAndRestoresTheFastPath() throws {
        let module = AddConstant(1)
        _ = try module(Tensor(shape: [1], scalars: [0]))
        #expect(module.canSkipHooks)
        var calls = 0
        let handle = module.registerFullBackwardHook { _, _, _ in calls += 1; return nil }
        let pre = module.registerFullBackwardPreHook { _, _ in calls += 10; return nil }
        #expect(module.hookCount == 2 && !module.canSkipHooks)
        let x = trackedLeaf(Tensor(shape: [1], scalars: [1]))
        let recordedWithHooks = try module(x).sum()
        handle.remove()
        handle.remove()
        pre.remove()
        #expect(handle.isRemoved && module.hookCount == 0 && module.canSkipHooks)
        try recordedWithHooks.backward()
        #expect(calls == 0)  // removed before the backward pass reached the module
        #expect(x.grad?.toArray() == [1])
    }

    @Test func scopedHooksAreRemovedWhenTheForwardOrTheBackwardThrows() throws {
        struct HookFailure: Error {}
        let failing = Sequential(AddConstant(1), Failing())
        func scoped(_ module: Module, hook: @escaping FullBackwardHook, _ body: () throws -> Void) rethrows {
            let handle = module.registerFullBackwardHook(hook)
            defer { handle.remove() }
            try body()
        }
        let x = trackedLeaf(Tensor(shape: [1], scalars: [1]))
        #expect(throws: Failing.Failure.self) {
            try scoped(failing, hook: { _, _, _ in nil }) { _ = try failing(x) }
        }
        #expect(failing.hookCount == 0)

        let module = AddConstant(1)
        #expect(throws: HookFailure.self) {
            try scoped(module, hook: { _, _, _ in throw HookFailure() }) { try module(x).sum().backward() }
        }
        #expect(module.hookCount == 0)
        #expect(x.grad == nil)
        try module(x).sum().backward()
        #expect(x.grad?.toArray() == [1])
    }

    @Test func inputsWithoutGradientsGetNilAndTheHookStillRuns() throws {
        let linear = Linear(inFeatures: 2, outFeatures: 1)
        var seen: [Tensor?]?
        linear.registerFullBackwardHook { _, gradInput, gradOutput in
            #expect(gradOutput[0] != nil)
            seen = gradInput
            return nil
        }
        try linear(Tensor(shape: [1, 2], scalars: [1, 2])).sum().backward()
        #expect(seen?.count == 1 && seen?[0] == nil)
        #expect(linear.weight.grad?.toArray() == [1, 2])
    }

    @Test func multiInputModulesSeeOneGradientPerInput() throws {
        let attention = MultiheadAttention(embedDimension: 4, headCount: 2, batchFirst: true).eval()
        let x = trackedLeaf(randomTensor([1, 3, 4], seed: 5))
        var gradInput: [Tensor?] = []
        attention.registerFullBackwardHook { _, gradients, _ in gradInput = gradients; return nil }
        try attention(query: x, key: x, value: x, needWeights: false).output.sum().backward()
        #expect(gradInput.count == 3 && gradInput.allSatisfy { $0 != nil })
        let total = gradInput.compactMap { $0 }.reduce(Tensor(zeros: [1, 3, 4])) { $0 + $1 }
        #expect(isClose(x.grad!, total, tolerance: 1e-6))
    }

    @Test func nothingIsAttachedWhenRecordingIsOff() throws {
        let module = AddConstant(1)
        var calls = 0
        module.registerFullBackwardHook { _, _, _ in calls += 1; return nil }
        let x = trackedLeaf(Tensor(shape: [1], scalars: [1]))
        let output = try GradMode.withDisabled { try module(x) }
        #expect(!output.requiresGrad)
        #expect(calls == 0)
    }

    @Test func zeroGradClearsEveryParameter() throws {
        let model = Sequential(Linear(inFeatures: 2, outFeatures: 2), Linear(inFeatures: 2, outFeatures: 1))
        try model(Tensor(shape: [1, 2], scalars: [1, 2])).sum().backward()
        #expect(model.parameters().allSatisfy { $0.grad != nil })
        model.zeroGrad()
        #expect(model.parameters().allSatisfy { $0.grad == nil })
    }
}
