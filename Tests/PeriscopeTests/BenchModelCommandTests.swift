import Foundation
import Tensors
import Testing
import TestSupport

/// `periscope bench model` as a process: seeded weights, the summary JSON as the last line.
@Suite struct BenchModelCommandTests {
    @Test func printsMedianAndP90AsTheLastLine() async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let configuration = directory.appendingPathComponent("mlp.json")
            try Data(#"{"architecture": "mlp", "in_channels": 16, "hidden_channels": [32, 8]}"#.utf8).write(to: configuration)
            let outcome = try PeriscopeProcess.run(["bench", "model", "--architecture", "mlp", "--config", configuration.path, "--batch", "4",
                                                    "--iterations", "5", "--warmup", "1", "--threads", "1"])
            #expect(outcome.status == 0, "\(outcome.standardError)")
            let last = try #require(outcome.standardOutput.split(separator: "\n").last)
            let summary = try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any]
            #expect(summary["iterations"] as? Int == 5)
            let median = try #require(summary["median_ms"] as? Double), p90 = try #require(summary["p90_ms"] as? Double)
            #expect(median > 0 && p90 >= median)
            #expect(outcome.standardOutput.contains("inputs: input [4, 16], threads: 1"))
        }
    }

    @Test func textModelsTakeASequenceLength() async throws {
        try await onDedicatedThread {
            let outcome = try PeriscopeProcess.run(["bench", "model", "--hf-dir", Fixtures.url("bert_tiny").path, "--batch", "2", "--seq", "8",
                                                    "--iterations", "2", "--warmup", "0"])
            #expect(outcome.status == 0, "\(outcome.standardError)")
            #expect(outcome.standardOutput.contains("attention_mask [2, 8], input_ids [2, 8]"))
            let tooLong = try PeriscopeProcess.run(["bench", "model", "--hf-dir", Fixtures.url("bert_tiny").path, "--seq", "65", "--iterations", "2"])
            #expect(tooLong.status == 1)
            #expect(tooLong.standardError == "periscope: option --seq: '65' is not at most 64\n")
        }
    }

    /// `--precision float32,int8` times both, interleaved, in one process; bfloat16 runs where the CPU
    /// has AVX512_BF16 and is refused naming the feature elsewhere; an unknown precision names the accepted ones.
    @Test func precisionsRunSideBySide() async throws {
        try await onDedicatedThread {
            let outcome = try PeriscopeProcess.run(["bench", "model", "--hf-dir", Fixtures.url("bert_tiny").path, "--batch", "2", "--seq", "8",
                                                    "--iterations", "3", "--warmup", "1", "--precision", "float32,int8"])
            #expect(outcome.status == 0, "\(outcome.standardError)")
            #expect(outcome.standardOutput.contains("precision: float32, int8"))
            let last = try #require(outcome.standardOutput.split(separator: "\n").last)
            let summary = try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any]
            let precisions = try #require(summary["precisions"] as? [String: [String: Any]])
            #expect(Set(precisions.keys) == ["float32", "int8"])
            #expect(summary["median_ms"] as? Double == precisions["float32"]?["median_ms"] as? Double)
            #expect((precisions["int8"]?["median_ms"] as? Double ?? 0) > 0)

            let bfloat16 = try PeriscopeProcess.run(["bench", "model", "--hf-dir", Fixtures.url("bert_tiny").path, "--batch", "2", "--seq", "8",
                                                     "--iterations", "1", "--precision", "float32,bfloat16"])
            if ComputePrecision.bfloat16.unavailableReason == nil {
                // The CPU has AVX512_BF16 (checked): both run, interleaved.
                #expect(bfloat16.status == 0 && bfloat16.standardOutput.contains("precision: float32, bfloat16"), "\(bfloat16.standardError)")
            } else {
                #expect(bfloat16.status == 1 && bfloat16.standardError.contains("precision bfloat16: ") && bfloat16.standardError.contains("AVX512_BF16"),
                        "\(bfloat16.standardError)")
            }
            let unknown = try PeriscopeProcess.run(["bench", "model", "--hf-dir", Fixtures.url("bert_tiny").path, "--precision", "fp8"])
            #expect(unknown.status == 1 && unknown.standardError.contains("float32, bfloat16, int8"), "\(unknown.standardError)")
        }
    }

    @Test func badModelsAreOneLineErrors() async throws {
        try await onDedicatedThread {
            let unknown = try PeriscopeProcess.run(["bench", "model", "--architecture", "alexnet", "--iterations", "1"])
            #expect(unknown.status == 1)
            #expect(unknown.standardError.hasPrefix("periscope: unknown architecture 'alexnet'; known architectures: resnet, vit, bert, mlp"))
            let none = try PeriscopeProcess.run(["bench", "model", "--batch", "1"])
            #expect(none.status == 1)
            #expect(none.standardError.hasPrefix("periscope: missing argument: exactly one model: "))
            let wrongSize = try PeriscopeProcess.run(["bench", "model", "--architecture", "vit", "--config", Fixtures.url("vit_tiny/config.json").path,
                                                      "--image-size", "64", "--iterations", "1"])
            #expect(wrongSize.standardError == "periscope: option --image-size: '64' is not 32 (this model's image size)\n")
        }
    }
}
