import Foundation
import Testing
import TestSupport
@testable import Service

/// The official `openai` Python SDK (from pip) against a live server with the real
/// all-MiniLM-L6-v2: `embeddings.create` with default settings (base64 on the wire) and
/// `encoding_format="float"`, a list, a string, token ids, `dimensions` on a Matryoshka-declared
/// model and its 400 on another, `extra_body={"layers": …}`, `models.list()`; the vectors equal
/// sentence-transformers' (`Tests/Fixtures/embeddings/minilm_reference.json`) within 1e-5 cosine
/// distance. The checks are in `scripts/openai-sdk-check.py`.
///
/// Python is `$PERISCOPE_PYTHON` or `python3`; it needs `openai` (`.ci/run` installs the version
/// pinned in `scripts/ci-requirements.txt`). Without it the test fails, saying so.
@Suite struct OpenAISDKTests {
    static let python = ProcessInfo.processInfo.environment["PERISCOPE_PYTHON"] ?? "python3"
    static let script = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/openai-sdk-check.py")

    /// Runs `arguments` with Python; exit status, stdout, stderr. Waits without blocking a thread.
    static func runPython(_ arguments: [String]) async throws -> (status: Int32, output: String, error: String) {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python] + arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (status, out, err)
    }

    @Test func officialClientGetsSentenceTransformersVectors() async throws {
        let probe = try await Self.runPython(["-c", "import openai; print(openai.__version__)"])
        try #require(probe.status == 0, "\(Self.python) cannot import openai (pip install -r scripts/ci-requirements.txt, or set PERISCOPE_PYTHON): \(probe.error.suffix(300))")
        let service = try await LiveService.start([
            .miniLM("all-minilm-l6-v2", embedding: #"{"matryoshka_dimensions": [384, 256, 128, 64]}"#), .bert("bert"),
        ])
        do {
            let run = try await Self.runPython([Self.script.path, "http://127.0.0.1:\(service.port)",
                                                Fixtures.url("embeddings/minilm_reference.json").path])
            #expect(run.status == 0, "openai \(probe.output.trimmingCharacters(in: .whitespacesAndNewlines)): \(run.error.suffix(2000))")
            let measured = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any], "\(run.output)")
            for key in ["base64", "float", "single_string", "token_ids", "dimensions_128", "extra_body_layers"] {
                let distance = try #require(measured[key] as? Double, "\(key) missing: \(run.output)")
                #expect(distance < 1e-5, "\(key): \(distance)")
            }
            #expect(measured["dimensions_refused"] as? Int == 400)
            print("openai SDK check: \(run.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
