import Foundation
import Models
import NN
import Tensors
import Testing
import TestSupport
@testable import Service

/// Dynamic batching: compatible jobs queued together run as one forward pass, each gets exactly its
/// own layers and rows, and the values are those of running each job alone.
@Suite struct FeatureBatchTests {
    enum Case: String, CaseIterable, Sendable {
        case resnet, mlp, bert

        var model: LoadedModel {
            get throws {
                switch self {
                case .resnet: try TestModels.resnet.get()
                case .mlp: try TestModels.mlp.get()
                case .bert: try TestModels.bert.get()
                }
            }
        }

        /// A different layer set per job: names, globs, indices, aliases, the output.
        func layers(job: Int) -> [LayerSelector] {
            switch self {
            case .resnet: [["layer1"], ["layer4", "avgpool"], ["layer2.*.relu", -1], ["conv1", "output"], ["fc"], ["layer3.0"]][job % 6]
            case .mlp: [["0"], ["3", "output"], [-1], ["1", "4"], ["output"], ["2"]][job % 6]
            case .bert: [["last_hidden_state"], ["pooler_output", "encoder.layer.0"], ["embeddings"], [-1], ["encoder.layer.1.output"], ["last_hidden_state", "pooler"]][job % 6]
            }
        }

        /// Post-processing per job (BERT: masked mean pooling on some).
        func postProcessing(job: Int) -> FeaturePostProcessing {
            switch self {
            case .bert where job % 3 == 0: FeaturePostProcessing(pool: .mean, normalize: true)
            case .resnet where job % 4 == 1: FeaturePostProcessing(pool: .max, flatten: true)
            default: FeaturePostProcessing()
            }
        }
    }

    /// Jobs of 1 to 3 rows each, queued behind a busy worker so they form one batch, against the
    /// same jobs run one by one on a non-batching model: identical names, shapes and values.
    ///
    /// Values agree within float32 rounding, not bit for bit: every row's output depends on that row
    /// only, but the GEMM picks its kernel and blocking from the problem size — a one-row Linear
    /// runs the dot-product kernel, a batch the packed micro-kernel; a convolution's im2col GEMM
    /// tiles N = batch·H·W differently — so sums are accumulated in another order and the last
    /// bits differ (measured: a few ulps, scaled error ≈ 1e-7). The bound checked is 1e-5.
    @Test(arguments: Case.allCases)
    func batchedJobsGetTheirOwnLayersWithTheUnbatchedValues(_ testCase: Case) async throws {
        let pool = WorkerPool(settings: .init(workers: 1, intraOpThreads: 1, queueCapacity: 16))
        defer { pool.shutdown() }
        let model = try testCase.model
        let batched = try await TestModels.served(model, name: "batched", batching: true, pool: pool)
        let alone = try await TestModels.served(model, name: "alone", batching: false, pool: pool)
        let jobCount = 6
        func work(_ job: Int, on served: ServedModel) throws -> FeatureWork {
            let inputs = TestModels.inputs(for: model, rows: 1 + job % 3, seed: UInt64(100 + job))
            let request = try model.resolveLayers(testCase.layers(job: job), in: served.defaultCatalog)
            return FeatureWork(model: served, inputs: inputs, rows: inputs.values.first!.shape[0], request: request,
                               postProcessing: testCase.postProcessing(job: job), attentionMask: inputs["attention_mask"])
        }

        let gate = Gate()
        let blocker = Task { try await pool.run { _ in gate.pass() } }
        try await gate.waitUntilEntered()
        var tasks: [Task<FeatureOutcome, any Error>] = []
        for job in 0..<jobCount {
            let work = try work(job, on: batched)
            tasks.append(Task { try await pool.extractFeatures(work, deadline: .now + .seconds(600), timeoutMilliseconds: 600_000, disconnection: nil) })
        }
        #expect(await eventually { pool.queueDepth == jobCount })
        gate.open()
        try await blocker.value
        var batchedOutcomes: [FeatureOutcome] = []
        for task in tasks { batchedOutcomes.append(try await task.value) }
        #expect(batchedOutcomes.allSatisfy { $0.batchSize == jobCount })
        #expect(batchedOutcomes.allSatisfy { $0.batchRows == (0..<jobCount).reduce(0) { $0 + 1 + $1 % 3 } })

        var worst: Float = 0
        for job in 0..<jobCount {
            let expected = try await pool.extractFeatures(work(job, on: alone), deadline: .now + .seconds(600), timeoutMilliseconds: 600_000,
                                                          disconnection: nil)
            #expect(expected.batchSize == 1)
            let got = batchedOutcomes[job]
            #expect(got.features.map(\.name) == expected.features.map(\.name), "job \(job)")
            for (actual, reference) in zip(got.features, expected.features) {
                #expect(actual.tensor.shape == reference.tensor.shape, "job \(job) \(actual.name)")
                #expect(actual.tensor.shape.first == 1 + job % 3, "job \(job) \(actual.name): its own rows only")
                let gap = try #require(difference(actual.tensor, reference.tensor))
                worst = max(worst, gap.scaledError)
                #expect(gap.scaledError <= 1e-5, "job \(job) \(actual.name): \(gap)")
            }
        }
        print("\(testCase): batched vs alone, worst scaled difference \(worst)")
        // No hooks are left on any replica.
        #expect(try await pool.hookCounts() == [0])
    }

    /// The union of the jobs' layers is captured once; each job's answer holds its layers only.
    @Test func unionSelectionCoversEveryJob() throws {
        let model = try TestModels.mlp.get()
        let served = ServedModel(name: "m", version: 1, model: model, batching: .disabled)
        let catalog = try model.makeReplica().traceLayers(inputs: served.defaultInputs)
        let works = try [["0"], ["3", "output"], ["0", "2"]].map { layers in
            FeatureWork(model: served, inputs: TestModels.inputs(for: model, rows: 1, seed: 1), rows: 1,
                        request: try model.resolveLayers(layers.map { LayerSelector.name($0) }, in: catalog))
        }
        let union = try FeatureBatch.unionSelection(works, catalog: catalog)
        #expect(union.names == ["0", "3", "2", "output"])
        #expect(works.map(\.answerNames) == [["0"], ["3", "output"], ["0", "2"]])
    }
}
