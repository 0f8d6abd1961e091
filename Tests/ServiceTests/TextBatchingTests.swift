import Foundation
import Testing
import TestSupport
@testable import Service

/// Text batching (on by default): concurrent embedding requests of different lengths run as padded
/// batches within the token budget, and every answer equals the unbatched one within 1e-6.
@Suite struct TextBatchingTests {
    static let texts: [[String]] = [
        ["a b"], ["Periscope looks inside networks.", "short"], ["one two three four five six seven eight nine ten"],
        ["hello"], ["The quick brown fox jumps over the lazy dog", "x y z"], ["layers"], ["mean pooling of tokens"],
        ["embeddings for retrieval", "and a second text of a few words"], ["tiny"], ["a somewhat longer sentence with more words in it"],
        ["c"], ["d e f g"],
    ]

    static func body(_ texts: [String], model: String = "bert", extra: String = "") -> String {
        #"{"model":""# + model + #"","encoding_format":"float","input":["# + texts.map { #"""# + $0 + #"""# }.joined(separator: ",") + "]" + extra + "}"
    }

    static func concurrent(_ service: LiveService, _ bodies: [String]) async throws -> [[[Float]]] {
        try await withThrowingTaskGroup(of: (Int, [[Float]]).self) { group in
            for (index, body) in bodies.enumerated() {
                group.addTask {
                    let reply = try await service.post("/v1/embeddings", json: body)
                    guard reply.status == 200 else { throw LiveServiceError.missingFile(reply.text, hint: "status \(reply.status)") }
                    return (index, try EmbeddingEndpointsTests.vectors(reply))
                }
            }
            var results = [[[Float]]](repeating: [], count: bodies.count)
            for try await (index, vectors) in group { results[index] = vectors }
            return results
        }
    }

    @Test func batchedEmbeddingsEqualUnbatched() async throws {
        var bodies = Self.texts.map { Self.body($0) }
        bodies += Self.texts.prefix(4).map { Self.body($0, extra: #","layers":["encoder.layer.0","pooler_output"],"pool":"max""#) }
        try await Self.expectBatchedEqualsUnbatched(.bert("bert"), bodies: bodies)
    }

    /// CLIP's text tower: padding with its EOS id and a causal mask leave each text's embedding as it was.
    @Test func clipBatchedTextEmbeddingsEqualUnbatched() async throws {
        var bodies = Self.texts.map { Self.body($0, model: "clip") }
        bodies += Self.texts.prefix(4).map { Self.body($0, model: "clip", extra: #","layers":["text_model.encoder.layers.0"],"pool":"mean""#) }
        try await Self.expectBatchedEqualsUnbatched(.clip("clip"), bodies: bodies)
    }

    /// Answers `bodies` concurrently without and with text batching; expects batches to form and
    /// every answer to equal the unbatched one within 1e-6.
    static func expectBatchedEqualsUnbatched(_ fixture: LiveService.Fixture, bodies: [String]) async throws {
        let unbatched = try await LiveService.start([fixture], settings: ["batching.text_enabled": "false", "workers": "1"])
        let reference: [[[Float]]]
        do {
            reference = try await Self.concurrent(unbatched, bodies)
            #expect(unbatched.application.pool.executionCount == unbatched.application.pool.executedJobCount)
        } catch {
            await unbatched.stop()
            throw error
        }
        await unbatched.stop()

        let service = try await LiveService.start([fixture], settings: ["workers": "1", "batching.text_max_delay_ms": "200",
                                                                                "batching.max_batch_tokens": "256"])
        do {
            let pool = service.application.pool
            let executionsBefore = pool.executionCount, jobsBefore = pool.executedJobCount
            let batched = try await Self.concurrent(service, bodies)
            let executions = pool.executionCount - executionsBefore, jobs = pool.executedJobCount - jobsBefore
            #expect(executions < jobs, "no text batch formed: \(executions) forward passes for \(jobs) jobs")
            var worst: Float = 0
            for (got, want) in zip(batched, reference) {
                #expect(got.count == want.count)
                for (a, b) in zip(got, want) {
                    #expect(a.count == b.count)
                    for (x, y) in zip(a, b) { worst = max(worst, abs(x - y)) }
                }
            }
            #expect(worst <= 1e-6, "largest difference batched vs unbatched: \(worst)")
            print("text batching: \(jobs) jobs in \(executions) forward passes; largest difference \(worst)")
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
