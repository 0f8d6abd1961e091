import Tensors
import Testing
import TestSupport

// The engine (`Tensor+Autograd.swift`, `BackwardPass.swift`): accumulation, seeds, no-grad,
// detach, graph release and memory, errors, retained gradients, tensor hooks, selective
// gradients and joint nodes. Per-op gradients are checked in GradientCheckTests.

/// A tracked leaf with `values`.
private func trackedLeaf(_ shape: [Int], _ values: [Float]) -> Tensor {
    var tensor = Tensor(shape: shape, scalars: values)
    tensor.requiresGrad = true
    return tensor
}

@Suite(.serialized) struct AutogradTests {
    @Test func scalarBackwardAccumulatesIntoLeavesAndZeroGradClears() throws {
        let x = trackedLeaf([3], [1, 2, 3])
        let w = trackedLeaf([3], [4, 5, 6])
        try (x * w).sum().backward(retainGraph: true)
        #expect(x.grad?.toArray() == [4, 5, 6])
        #expect(w.grad?.toArray() == [1, 2, 3])
        // PyTorch semantics: a second pass adds to `grad`.
        let y = (x * w).sum()
        try y.backward()
        #expect(x.grad?.toArray() == [8, 10, 12])
        x.zeroGrad()
        #expect(x.grad == nil)
        #expect(w.grad?.toArray() == [2, 4, 6])
    }

    @Test func aTensorUsedTwiceGetsBothContributions() throws {
        let x = trackedLeaf([2], [3, -1])
        // d/dx (x·x + x) = 2x + 1, through a diamond whose branches finish in either order.
        let y = x * x + x
        try y.backward(gradient: Tensor(shape: [2], repeating: 1))
        #expect(x.grad?.toArray() == [7, -1])
    }

    @Test func seedsAreRequiredForNonScalarsAndMustMatchTheShape() throws {
        let x = trackedLeaf([2], [1, 2])
        let y = x * 2
        #expect(throws: AutogradError.seedRequired(shape: [2])) { try y.backward() }
        #expect(throws: AutogradError.seedShapeMismatch(expected: [2], got: [3])) {
            try y.backward(gradient: Tensor(shape: [3], repeating: 1))
        }
        try y.backward(gradient: Tensor(shape: [2], scalars: [1, 10]))
        #expect(x.grad?.toArray() == [2, 20])
        // A one-element tensor of any rank needs no seed.
        let z = trackedLeaf([1, 1], [5])
        try (z * 3).backward()
        #expect(z.grad?.toArray() == [3])
    }

    @Test func untrackedTensorsCannotRunBackward() {
        let x = Tensor(shape: [1], scalars: [1])
        #expect(throws: AutogradError.notTracked(shape: [1])) { try (x * 2).backward() }
    }

    @Test func noGradScopeRecordsNothing() {
        let x = trackedLeaf([2], [1, 2])
        let y = GradMode.withDisabled { (x * x).exp().sum() }
        #expect(!y.requiresGrad)
        #expect(GradMode.isEnabled)
        let z = GradMode.withDisabled { GradMode.withEnabled { x * 2 } }
        #expect(z.requiresGrad)
    }

    @Test func detachedCutsTheGraph() throws {
        let x = trackedLeaf([2], [1, 2])
        #expect(!(x.detached() * 2).requiresGrad)
        // Only the tracked branch contributes: d/dx (2x + stop(x)·x) = 2 + x.
        let y = (x * 2 + x.detached() * x).sum()
        try y.backward()
        #expect(x.grad?.toArray() == [3, 4])
    }

    @Test func backwardRunsWithRecordingOff() throws {
        let x = trackedLeaf([1], [1])
        var recordingDuringBackward: Bool?
        let y = (x * 1).recordingGradient("probe", inputs: [x]) { gradient in
            recordingDuringBackward = GradMode.isEnabled
            return [gradient]
        }
        try y.backward()
        #expect(recordingDuringBackward == false)
        #expect(x.grad?.requiresGrad == false)
    }

    @Test func aSecondPassThroughAReleasedGraphFailsNamingTheOp() throws {
        let x = trackedLeaf([2], [1, 2])
        let y = x.exp().sum()
        try y.backward()
        #expect(y.gradientNode?.isReleased == true)
        #expect(throws: AutogradError.graphReleased(operation: "sum")) { try y.backward() }
        // Retained, the graph runs any number of times.
        let z = x.exp().sum()
        x.zeroGrad()
        try z.backward(retainGraph: true)
        try z.backward(retainGraph: true)
        try z.backward()
        let e = x.toArray().map { Foundation.exp($0) * 3 }
        #expect(isClose(x.grad!, Tensor(shape: [2], scalars: e), tolerance: 1e-6))
    }

    @Test func opsRecordedWithoutBackwardFailClearly() {
        let x = trackedLeaf([2], [1, 2])
        let y = (x * 1).recordingGradient("mystery_op", inputs: [x], backward: nil).sum()
        #expect(throws: AutogradError.backwardNotImplemented(operation: "mystery_op")) { try y.backward() }
        #expect(AutogradError.backwardNotImplemented(operation: "mystery_op").description.contains("mystery_op"))
    }

    @Test func theGraphIsFreedAfterBackwardEvenWhileTheOutputLives() throws {
        let baseline = GradientNode.liveCountCreatedOnThisThread
        let x = trackedLeaf([64], (0..<64).map { Float($0) / 64 })
        weak var savedStorage: TensorStorage?
        var losses: [Tensor] = []
        for pass in 0..<200 {
            let hidden = x.sigmoid()
            if pass == 0 { savedStorage = hidden.storage }
            let loss = ((hidden * hidden).tanh() * x).sum()
            try loss.backward()
            losses.append(loss)  // outputs stay alive: their nodes must hold nothing
        }
        // The leaf, and one released node per loss: every op node in between is gone.
        #expect(GradientNode.liveCountCreatedOnThisThread == baseline + 1 + losses.count)
        #expect(losses.allSatisfy { $0.gradientNode!.inputs.isEmpty && !$0.gradientNode!.hasBackward })
        // The first pass's sigmoid output was kept only by the closures that used it: it is gone.
        #expect(savedStorage == nil)
        losses.removeAll()
        #expect(GradientNode.liveCountCreatedOnThisThread == baseline + 1)
    }

    @Test func memoryReturnsToBaselineAfterManyPasses() throws {
        let baseline = GradientNode.liveCountCreatedOnThisThread
        let x = trackedLeaf([4, 16], (0..<64).map { Float($0 % 7) / 7 })
        let w = trackedLeaf([16, 16], (0..<256).map { Float($0 % 5) / 5 - 0.5 })
        let residentBefore = residentBytes()
        final class WeakStorage { weak var storage: TensorStorage?; init(_ storage: TensorStorage) { self.storage = storage } }
        var intermediates: [WeakStorage] = []
        for _ in 0..<1_000 {
            let h = Tensor.matmul(x, w).relu()
            intermediates.append(WeakStorage(h.storage))
            try (h.softmax(axis: -1) * h).max(axes: [1]).sum().backward()
        }
        #expect(GradientNode.liveCountCreatedOnThisThread == baseline + 2)
        // Every activation the closures saved is freed.
        #expect(intermediates.allSatisfy { $0.storage == nil })
        if let residentBefore, let residentAfter = residentBytes() {
            // Other tests run in parallel in this process: a loose bound on the resident set.
            #expect(residentAfter - residentBefore < 64 << 20, "resident set grew by \(residentAfter - residentBefore) bytes")
        }
    }

    @Test func retainGradKeepsANonLeafGradient() throws {
        let x = trackedLeaf([2], [1, 2])
        let h = x * 3
        h.retainGrad()
        let unretained = h * 1
        try (unretained * h).sum().backward()
        #expect(h.grad?.toArray() == [6, 12])  // d/dh Σ h² = 2h
        #expect(unretained.grad == nil)
        #expect(x.grad?.toArray() == [18, 36])
    }

    @Test func tensorHooksRunInOrderReplaceAndRemove() throws {
        let x = trackedLeaf([2], [1, 2])
        let h = x * 2
        var order: [String] = []
        h.registerHook { gradient in order.append("first \(gradient.toArray())"); return gradient * 10 }
        let second = h.registerHook { gradient in order.append("second \(gradient.toArray())"); return nil }
        x.registerHook { gradient in order.append("leaf \(gradient.toArray())"); return nil }
        try h.sum().backward(retainGraph: true)
        #expect(order == ["first [1.0, 1.0]", "second [10.0, 10.0]", "leaf [20.0, 20.0]"])
        #expect(x.grad?.toArray() == [20, 20])
        second.remove()
        second.remove()
        #expect(second.isRemoved)
        order = []
        try h.sum().backward()
        #expect(order == ["first [1.0, 1.0]", "leaf [20.0, 20.0]"])
    }

    @Test func errorsThrownByHooksReachTheCaller() {
        struct HookFailure: Error {}
        let x = trackedLeaf([2], [1, 2])
        let h = x * 2
        h.registerHook { _ in throw HookFailure() }
        #expect(throws: HookFailure.self) { try h.sum().backward() }
        #expect(x.grad == nil)
    }

    @Test func gradientsOfReturnsWithoutAccumulatingAndSkipsUnwantedInputs() throws {
        let x = trackedLeaf([2], [1, 2])
        let w = trackedLeaf([2], [3, 4])
        let unused = trackedLeaf([3], [0, 0, 0])
        var asked: [[Bool]] = []
        let product = (x * 1).recordingGradient("probe", inputs: [x, w]) { gradient, needs in
            asked.append(needs)
            return [needs[0] ? gradient * w.detached() : nil, needs[1] ? gradient * x.detached() : nil]
        }
        let h = product * 5
        let result = try Tensor.gradients(of: h.sum(), withRespectTo: [x, h, unused], retainGraph: true)
        #expect(result[0].toArray() == [15, 20])
        #expect(result[1].toArray() == [1, 1])
        #expect(result[2].toArray() == [0, 0, 0])
        #expect(asked == [[true, false]])  // the weight's gradient was not computed
        #expect(x.grad == nil && w.grad == nil)
        // A non-leaf target without targets upstream stops the pass there.
        asked = []
        _ = try Tensor.gradients(of: h.sum(), withRespectTo: [h])
        #expect(asked.isEmpty)
    }

    @Test func jointNodesSeeAllTheirOutputsGradientsAtOnce() throws {
        let a = trackedLeaf([1], [2]), b = trackedLeaf([1], [3])
        let untracked = Tensor(shape: [1], scalars: [7])
        var seen: [[Float?]] = []
        let joined = Tensor.jointIdentity([a, b, untracked], operation: "joint") { gradients in
            seen.append(gradients.map { $0?.toArray()[0] })
            return [gradients[0].map { $0 * 100 }, gradients[1], gradients[2]]
        }
        #expect(joined.count == 3 && !joined[2].requiresGrad)
        try (joined[0] * 2 + joined[1] * joined[0] + joined[2]).sum().backward()
        #expect(seen.count == 1)
        #expect(seen.first == [5, 2, nil])  // d/da = 2 + b, d/db = a
        #expect(a.grad?.toArray() == [500])
        #expect(b.grad?.toArray() == [2])
    }
}

/// This process's resident set size in bytes, from /proc (nil elsewhere).
private func residentBytes() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * 4096
}

import Foundation
