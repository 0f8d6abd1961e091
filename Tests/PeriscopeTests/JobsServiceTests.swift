import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// `POST|GET|DELETE /v1/jobs` against `periscope serve` processes on loopback ports the OS picks,
/// with the registry in a temporary data directory: a job's shards are those `periscope extract`
/// writes, paths are confined to `jobs.data_root`, a cancelled job leaves a directory that
/// resumes, a server killed mid-job resumes it at the next start, and interactive requests are
/// answered while a job runs.
@Suite(.serialized) struct JobsServiceTests {
    // MARK: - Submit and complete

    @Test func aJobWritesTheShardsTheCommandWritesAndReportsItsProgress() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        _ = try ExtractDatasetTests.imageDataset(in: setup.jobsRoot, copies: 5)
        let server = try await setup.startServer()
        defer { server.stop() }

        let (status, job) = try await server.send("POST", "/v1/jobs", json: Self.job(dataset: "images", output: "out/a"))
        #expect(status == 202, "\(job)")
        let id = try #require(job["id"] as? String)
        #expect(job["state"] as? String == "queued")
        #expect((job["progress"] as? [String: Any])?["items_total"] as? Int == 24)

        let done = try await server.waitForJob(id) { ["succeeded", "failed", "cancelled"].contains($0["state"] as? String) }
        #expect(done["state"] as? String == "succeeded", "\(done)")
        let progress = try #require(done["progress"] as? [String: Any])
        #expect(progress["items_done"] as? Int == 24 && progress["errors"] as? Int == 1, "\(progress)")  // broken.jpg
        #expect(done["started_at"] is String && done["finished_at"] is String)

        let reference = setup.directory.appendingPathComponent("reference")
        let command = try setup.extract(dataset: "images", output: reference)
        #expect(command.status == 0, "\(command.standardError)")
        try Self.expectSameShards(setup.jobsRoot.appendingPathComponent("out/a"), reference)

        let (listed, list) = try await server.send("GET", "/v1/jobs")
        #expect(listed == 200)
        #expect((list["jobs"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
        let metrics = try await server.text("/metrics")
        #expect(metrics.contains("periscope_extraction_items_total 24"), "\(metrics)")
        #expect(metrics.contains(#"periscope_extraction_jobs{state="running"} 0"#))
        #expect(metrics.contains(#"periscope_extraction_jobs_finished_total{state="succeeded"} 1"#))
    }

    /// A job over data an earlier job went through reads the server's feature cache instead of
    /// computing; over a grown dataset it computes only the new items; the shards are those of an
    /// uncached `periscope extract` every time.
    @Test func aRepeatedJobReadsTheFeatureCacheAndAGrownDatasetComputesOnlyTheNewItems() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        let images = try ExtractDatasetTests.imageDataset(in: setup.jobsRoot, copies: 5)
        let server = try await setup.startServer()
        defer { server.stop() }
        func cacheCounts() async throws -> [Int] {
            let metrics = try await server.text("/metrics")
            func value(_ name: String) -> Int {
                metrics.split(separator: "\n").first { $0.hasPrefix(name + #"{model="tiny"}"#) }.flatMap { Double($0.split(separator: " ").last!) }.map { Int($0) } ?? 0
            }
            return [value("periscope_cache_hits_total"), value("periscope_cache_misses_total")]
        }
        func run(_ output: String) async throws {
            let (status, job) = try await server.send("POST", "/v1/jobs", json: Self.job(dataset: "images", output: output))
            #expect(status == 202, "\(job)")
            let done = try await server.waitForJob(try #require(job["id"] as? String)) { ["succeeded", "failed", "cancelled"].contains($0["state"] as? String) }
            #expect(done["state"] as? String == "succeeded", "\(done)")
        }

        try await run("out/first")
        // 23 readable images × 2 layers, in 7 batches; 3 of them hold the same 4 images (the
        // copies under more/) in the same order, so they are computed once and then read.
        let firstCounts = try await cacheCounts()
        #expect(firstCounts == [24, 22], "hits, misses: \(firstCounts)")
        try await run("out/again")
        let againCounts = try await cacheCounts()
        #expect(againCounts == [70, 22], "hits, misses: \(againCounts)")
        let reference = setup.directory.appendingPathComponent("reference")
        #expect(try setup.extract(dataset: "images", output: reference).status == 0)
        try Self.expectSameShards(setup.jobsRoot.appendingPathComponent("out/first"), reference)
        try Self.expectSameShards(setup.jobsRoot.appendingPathComponent("out/again"), reference)

        // Four new images sort after the others (zz/): a new shard, computed; every old batch is read.
        for source in ["gray8_29x31.png", "rgba8_25x27.png", "ycbcr420_45x33.jpg", "palette4_14x15.png"] {
            try FileManager.default.createDirectory(at: images.appendingPathComponent("zz"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Fixtures.url("images/" + source), to: images.appendingPathComponent("zz/" + source))
        }
        try await run("out/grown")
        let grownCounts = try await cacheCounts()
        #expect(grownCounts == [116, 30], "hits, misses: \(grownCounts)")
        let grownReference = setup.directory.appendingPathComponent("grown-reference")
        #expect(try setup.extract(dataset: "images", output: grownReference).status == 0)
        try Self.expectSameShards(setup.jobsRoot.appendingPathComponent("out/grown"), grownReference)
    }

    @Test func aTextJobOnATokenizerModelWritesTheCommandsShards() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        // The BERT fixture directory under the model root, registered in place (vocab.txt next to the weights).
        let bert = setup.dataDirectory.appendingPathComponent("models/bert_tiny")
        try FileManager.default.copyItem(at: Fixtures.url("bert_tiny"), to: bert)
        let added = try PeriscopeProcess.run(["models", "add", "bert", "--architecture", "bert", "--config", bert.appendingPathComponent("config.json").path,
                                              "--weights", bert.appendingPathComponent("model.safetensors").path, "--in-place",
                                              "--data-dir", setup.dataDirectory.path])
        #expect(added.status == 0, "\(added.standardError)")
        let lines = [#"{"text": "Hello, world!", "id": "greeting"}"#, #""short""#, "not json", #"{"text": "The café's naïve résumé"}"#, #""again""#]
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: setup.jobsRoot.appendingPathComponent("texts.jsonl"))
        let server = try await setup.startServer()
        defer { server.stop() }
        let body: [String: Any] = ["model": "bert", "dataset": "texts.jsonl", "output_dir": "text-out", "layers": ["last_hidden_state"],
                                   "pool": "mean", "normalize": true, "rows_per_shard": 2, "batch_size": 2]
        let (status, job) = try await server.send("POST", "/v1/jobs", json: body)
        #expect(status == 202, "\(job)")
        let id = try #require(job["id"] as? String)
        let done = try await server.waitForJob(id) { ["succeeded", "failed", "cancelled"].contains($0["state"] as? String) }
        #expect(done["state"] as? String == "succeeded", "\(done)")
        #expect((done["progress"] as? [String: Any])?["errors"] as? Int == 1)

        let reference = setup.directory.appendingPathComponent("reference")
        let command = try PeriscopeProcess.run(["extract", "bert", "--dataset", setup.jobsRoot.appendingPathComponent("texts.jsonl").path,
                                                "--layers", "last_hidden_state", "--pool", "mean", "--normalize", "--rows-per-shard", "2",
                                                "--batch-size", "2", "--output-dir", reference.path, "--quiet", "--data-dir", setup.dataDirectory.path])
        #expect(command.status == 0, "\(command.standardError)")
        try Self.expectSameShards(setup.jobsRoot.appendingPathComponent("text-out"), reference)
        // A model without a tokenizer refuses a text dataset before the job is accepted.
        let (refused, error) = try await server.send("POST", "/v1/jobs", json: Self.job(dataset: "texts.jsonl", output: "o"))
        #expect(refused == 400 && (error["error"] as? String)?.contains("tokenizer") == true, "\(error)")
    }

    // MARK: - Bad input

    @Test func pathsLeavingTheDataRootAndBadOptionsAre4xxNamingTheField() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        _ = try ExtractDatasetTests.imageDataset(in: setup.jobsRoot)
        let outside = setup.directory.appendingPathComponent("outside")
        _ = try ExtractDatasetTests.imageDataset(in: outside)
        try FileManager.default.createSymbolicLink(at: setup.jobsRoot.appendingPathComponent("escape"), withDestinationURL: outside)
        let linked = setup.jobsRoot.appendingPathComponent("linked")
        try FileManager.default.createDirectory(at: linked, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.url("images/photo_64x48.png"), to: linked.appendingPathComponent("inside.png"))
        try FileManager.default.createSymbolicLink(at: linked.appendingPathComponent("outside.png"),
                                                   withDestinationURL: outside.appendingPathComponent("images/a/photo_64x48.png"))
        try Data("x".utf8).write(to: setup.jobsRoot.appendingPathComponent("file.txt"))
        try FileManager.default.createDirectory(at: setup.jobsRoot.appendingPathComponent("busy"), withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: setup.jobsRoot.appendingPathComponent("busy/notes"))
        let server = try await setup.startServer()
        defer { server.stop() }

        let valid = Self.job(dataset: "images", output: "out")
        func with(_ changes: [String: Any?]) -> [String: Any] {
            var body = valid
            for (key, value) in changes { body[key] = value }
            return body
        }
        let cases: [(body: [String: Any], status: Int, field: String, says: String)] = [
            (with(["dataset": "../outside/images"]), 400, "dataset", "'..'"),
            (with(["dataset": outside.path + "/images"]), 400, "dataset", "outside the data root"),
            (with(["dataset": "escape/images"]), 400, "dataset", "symlink"),
            (with(["dataset": "linked"]), 400, "dataset", "image 'outside.png' leads through a symlink"),
            (with(["dataset": "missing"]), 400, "dataset", "does not exist"),
            (with(["dataset": "file.txt", "output_dir": "o"]), 400, "dataset", "input for this model"),
            (with(["dataset": ""]), 400, "dataset", "must not be empty"),
            (with(["output_dir": "../out"]), 400, "output_dir", "'..'"),
            (with(["output_dir": "/tmp/periscope-job-out"]), 400, "output_dir", "outside the data root"),
            (with(["output_dir": "escape/out"]), 400, "output_dir", "symlink"),
            (with(["output_dir": "file.txt"]), 400, "output_dir", "not a directory"),
            (with(["output_dir": "images/out"]), 400, "output_dir", "inside the dataset"),
            (with(["output_dir": "busy"]), 409, "output_dir", "no manifest.json"),
            (with(["output_dir": nil]), 400, "output_dir", "is required"),
            (with(["layers": nil]), 400, "layers", "is required"),
            (with(["layers": []]), 400, "layers", "non-empty"),
            (with(["layers": ["nope"]]), 404, "nope", "unknown layer"),
            (with(["pool": "median"]), 400, "pool", "'median'"),
            (with(["batch_size": 0]), 400, "batch_size", "≥ 1"),
            (with(["rows_per_shard": "8"]), 400, "rows_per_shard", "expected an integer"),
            (with(["strict": 1]), 400, "strict", "true or false"),
            (with(["version": 0]), 400, "version", "≥ 1"),
            (with(["version": 7]), 404, "version 7", "no version"),
            (with(["model": "unknown"]), 404, "unknown", "unknown model"),
            (with(["shards": 2]), 400, "shards", "unknown field"),
        ]
        for (body, status, field, says) in cases {
            let (answer, error) = try await server.send("POST", "/v1/jobs", json: body)
            let message = error["error"] as? String ?? ""
            #expect(answer == status, "\(body): \(answer) \(message)")
            #expect(message.contains(field) && message.contains(says), "\(body): \(message)")
        }
        let (malformed, error) = try await server.send("POST", "/v1/jobs", body: Data("{\"model\": ".utf8))
        #expect(malformed == 400, "\(error)")
        let (unknown, missing) = try await server.send("GET", "/v1/jobs/no-such-job")
        #expect(unknown == 404 && (missing["error"] as? String)?.contains("no-such-job") == true)
        // Nothing was recorded, and the server still serves.
        let (_, list) = try await server.send("GET", "/v1/jobs")
        #expect((list["jobs"] as? [Any])?.isEmpty == true)
        #expect(try await server.text("/healthz") == "ok\n")
    }

    @Test func jobsNeedTheAdminScope() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        let server = try await setup.startServer(insecure: false)
        defer { server.stop() }
        let (status, error) = try await server.send("POST", "/v1/jobs", json: Self.job(dataset: "images", output: "out"))
        #expect(status == 403 && error["error_type"] as? String == "admin_disabled", "\(error)")
        let (listed, _) = try await server.send("GET", "/v1/jobs")
        #expect(listed == 403)
    }

    @Test func aDataRootThatCannotBeCreatedIs503NamingTheSetting() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        let file = setup.directory.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        let server = try await setup.startServer(environment: ["PERISCOPE_JOBS_DATA_ROOT": file.path + "/jobs"])
        defer { server.stop() }
        let (status, error) = try await server.send("POST", "/v1/jobs", json: Self.job(dataset: "images", output: "out"))
        #expect(status == 503 && (error["error"] as? String)?.contains("jobs.data_root") == true, "\(error)")
        #expect(try await server.text("/healthz") == "ok\n")
    }

    // MARK: - Cancel and resume

    @Test func aCancelledJobStopsAndItsDirectoryResumesToTheCommandsOutput() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        _ = try ExtractDatasetTests.imageDataset(in: setup.jobsRoot, copies: 60)
        let server = try await setup.startServer()
        defer { server.stop() }
        let body = Self.job(dataset: "images", output: "out")
        let (_, job) = try await server.send("POST", "/v1/jobs", json: body)
        let id = try #require(job["id"] as? String)
        _ = try await server.waitForJob(id) { (($0["progress"] as? [String: Any])?["items_done"] as? Int ?? 0) > 0 }

        var (status, cancelled) = try await server.send("DELETE", "/v1/jobs/\(id)")
        #expect(status == 200 || status == 202, "\(cancelled)")
        #expect(cancelled["cancel_requested"] as? Bool == true)
        cancelled = try await server.waitForJob(id) { $0["state"] as? String != "running" && $0["state"] as? String != "queued" }
        #expect(cancelled["state"] as? String == "cancelled", "\(cancelled)")
        let done = (cancelled["progress"] as? [String: Any])?["items_done"] as? Int ?? 0
        #expect(done < 244, "the job ran to its end before the cancellation")
        let manifest = try ExtractDatasetTests.manifest(setup.jobsRoot.appendingPathComponent("out"))
        #expect(manifest["complete"] as? Bool == false)
        let (again, _) = try await server.send("DELETE", "/v1/jobs/\(id)")
        #expect(again == 200)

        // The same job again continues the directory; another job on it meanwhile is refused.
        let (_, resumed) = try await server.send("POST", "/v1/jobs", json: body)
        let resumedID = try #require(resumed["id"] as? String)
        let (conflict, error) = try await server.send("POST", "/v1/jobs", json: body)
        if conflict != 202 {
            #expect(conflict == 409 && (error["error"] as? String)?.contains("output_dir") == true, "\(error)")
        }
        let finished = try await server.waitForJob(resumedID) { ["succeeded", "failed", "cancelled"].contains($0["state"] as? String) }
        #expect(finished["state"] as? String == "succeeded", "\(finished)")
        let (late, lateError) = try await server.send("DELETE", "/v1/jobs/\(resumedID)")
        #expect(late == 409 && (lateError["error"] as? String)?.contains("succeeded") == true, "\(lateError)")

        let reference = setup.directory.appendingPathComponent("reference")
        let command = try setup.extract(dataset: "images", output: reference)
        #expect(command.status == 0, "\(command.standardError)")
        try Self.expectSameShards(setup.jobsRoot.appendingPathComponent("out"), reference)
    }

    @Test func aQueuedJobCancelledBeforeItStartsNeverRunsAndTheRunningOneGoesOn() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        _ = try ExtractDatasetTests.imageDataset(in: setup.jobsRoot, copies: 60)
        let server = try await setup.startServer()
        defer { server.stop() }
        let (_, first) = try await server.send("POST", "/v1/jobs", json: Self.job(dataset: "images", output: "first"))
        let (_, second) = try await server.send("POST", "/v1/jobs", json: Self.job(dataset: "images", output: "second"))
        let firstID = try #require(first["id"] as? String), secondID = try #require(second["id"] as? String)
        _ = try await server.waitForJob(firstID) { $0["state"] as? String == "running" }
        let (_, queued) = try await server.send("GET", "/v1/jobs/\(secondID)")
        #expect(queued["state"] as? String == "queued", "\(queued)")

        let (status, cancelled) = try await server.send("DELETE", "/v1/jobs/\(secondID)")
        #expect(status == 200 && cancelled["state"] as? String == "cancelled", "\(cancelled)")
        #expect(cancelled["error"] as? String == "cancelled before it started" && cancelled["started_at"] == nil)
        let metrics = try await server.text("/metrics")
        #expect(metrics.contains(#"periscope_extraction_jobs{state="queued"} 0"#) && metrics.contains(#"periscope_extraction_jobs{state="running"} 1"#),
                "\(metrics)")
        let finished = try await server.waitForJob(firstID) { ["succeeded", "failed", "cancelled"].contains($0["state"] as? String) }
        #expect(finished["state"] as? String == "succeeded", "\(finished)")
        #expect(!FileManager.default.fileExists(atPath: setup.jobsRoot.appendingPathComponent("second").path))
        let (_, after) = try await server.send("GET", "/v1/jobs/\(secondID)")
        #expect(after["state"] as? String == "cancelled")
    }

    @Test func aServerKilledMidJobResumesItAtTheNextStartByteIdentically() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        _ = try ExtractDatasetTests.imageDataset(in: setup.jobsRoot, copies: 60)
        let output = setup.jobsRoot.appendingPathComponent("out")
        let first = try await setup.startServer()
        let (_, job) = try await first.send("POST", "/v1/jobs", json: Self.job(dataset: "images", output: "out"))
        let id = try #require(job["id"] as? String)
        func recordedShards() -> Int { ((try? ExtractDatasetTests.manifest(output))?["shards"] as? [Any])?.count ?? 0 }
        let deadline = ContinuousClock.now + .seconds(300)
        while recordedShards() < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        kill(first.process.process.processIdentifier, SIGKILL)
        _ = await first.process.exitStatus()
        let shardsAtKill = recordedShards()
        #expect(shardsAtKill >= 2 && shardsAtKill < 31, "\(shardsAtKill) shards when killed")

        let second = try await setup.startServer()
        defer { second.stop() }
        let finished = try await second.waitForJob(id) { ["succeeded", "failed", "cancelled"].contains($0["state"] as? String) }
        #expect(finished["state"] as? String == "succeeded", "\(finished)")
        #expect(second.process.logText.contains("\"job resumes\""), "\(second.process.logText)")

        let reference = setup.directory.appendingPathComponent("reference")
        let command = try setup.extract(dataset: "images", output: reference)
        #expect(command.status == 0, "\(command.standardError)")
        try Self.expectSameShards(output, reference)
    }

    @Test func aServerStoppedWithSIGTERMMidJobExitsCleanlyAndResumesIt() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        _ = try ExtractDatasetTests.imageDataset(in: setup.jobsRoot, copies: 60)
        let output = setup.jobsRoot.appendingPathComponent("out")
        let first = try await setup.startServer()
        let (_, job) = try await first.send("POST", "/v1/jobs", json: Self.job(dataset: "images", output: "out"))
        let id = try #require(job["id"] as? String)
        func recordedShards() -> Int { ((try? ExtractDatasetTests.manifest(output))?["shards"] as? [Any])?.count ?? 0 }
        let deadline = ContinuousClock.now + .seconds(300)
        while recordedShards() < 1 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        first.process.process.terminate()
        #expect(await first.process.exitStatus() == 0, "\(first.process.logText)")
        #expect(first.process.logText.contains("job interrupted by shutdown"), "\(first.process.logText)")

        let second = try await setup.startServer()
        defer { second.stop() }
        let finished = try await second.waitForJob(id) { ["succeeded", "failed", "cancelled"].contains($0["state"] as? String) }
        #expect(finished["state"] as? String == "succeeded", "\(finished)")
        let reference = setup.directory.appendingPathComponent("reference")
        let command = try setup.extract(dataset: "images", output: reference)
        #expect(command.status == 0, "\(command.standardError)")
        try Self.expectSameShards(output, reference)
    }

    // MARK: - Priority

    @Test func interactiveRequestsAreAnsweredWhileAJobRuns() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        _ = try ExtractDatasetTests.imageDataset(in: setup.jobsRoot, copies: 60)
        let server = try await setup.startServer()
        defer { server.stop() }
        let (_, job) = try await server.send("POST", "/v1/jobs", json: Self.job(dataset: "images", output: "out"))
        let id = try #require(job["id"] as? String)
        _ = try await server.waitForJob(id) { (($0["progress"] as? [String: Any])?["items_done"] as? Int ?? 0) > 0 }
        let image = try Data(contentsOf: Fixtures.url("images/photo_64x48.png")).base64EncodedString()
        for _ in 0..<10 {
            let (status, features) = try await server.send("POST", "/v1/models/tiny/features", json: ["image": image, "layers": ["avgpool"]])
            #expect(status == 200, "\(features)")
        }
        let (_, during) = try await server.send("GET", "/v1/jobs/\(id)")
        #expect(during["state"] as? String == "running", "the job ended before the interactive requests: \(during)")
        let progress = try #require(during["progress"] as? [String: Any])
        #expect((progress["items_per_second"] as? Double ?? 0) > 0 && progress["eta_seconds"] is Double, "\(progress)")
        _ = try await server.send("DELETE", "/v1/jobs/\(id)")
    }

    // MARK: - Helpers

    /// The job every test submits: layer3 and avgpool mean-pooled, 8 rows per shard, batches of 4.
    static func job(dataset: String, output: String) -> [String: Any] {
        ["model": "tiny", "dataset": dataset, "output_dir": output, "layers": ["layer3", "avgpool"], "pool": "mean",
         "rows_per_shard": 8, "batch_size": 4]
    }

    /// Every shard file of `output` equals the one of `reference`, and both have the same shards.
    static func expectSameShards(_ output: URL, _ reference: URL) throws {
        let shards = { (url: URL) in try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasPrefix("shard-") }.sorted() }
        let names = try shards(reference)
        #expect(!names.isEmpty)
        #expect(try shards(output) == names)
        for name in names {
            #expect(try Data(contentsOf: output.appendingPathComponent(name)) == Data(contentsOf: reference.appendingPathComponent(name)),
                    "\(name) differs")
        }
    }

    /// A temporary data directory with the fixture ResNet registered as `tiny`.
    struct Setup {
        let directory: URL
        var dataDirectory: URL { directory.appendingPathComponent("data") }
        var jobsRoot: URL { dataDirectory.appendingPathComponent("jobs") }

        init() throws {
            directory = try PeriscopeProcess.temporaryDirectory()
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("data/jobs"), withIntermediateDirectories: true)
            let configuration = try ExtractDatasetTests.configuration(directory)
            let added = try PeriscopeProcess.run(["models", "add", "tiny", "--architecture", "resnet", "--config", configuration.path,
                                                  "--weights", Fixtures.url("resnet_basic_1111/model.safetensors").path,
                                                  "--data-dir", directory.path + "/data"])
            guard added.status == 0 else { throw Failure.setup(added.standardError) }
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }

        /// `periscope serve` on this data directory (admin open with `insecure`).
        func startServer(insecure: Bool = true, environment extra: [String: String] = [:]) async throws -> Server {
            var environment = ServeCommandTests.environment(directory, extra)
            if insecure { environment["PERISCOPE_INSECURE_DEV_MODE"] = "true" }
            let process = try ServeProcess(arguments: ["--port", "0", "--data-dir", dataDirectory.path, "--workers", "1"],
                                           environment: environment)
            return Server(process: process, port: try await process.port())
        }

        /// `periscope extract tiny` with the options of `job`, into `output`.
        func extract(dataset: String, output: URL) throws -> PeriscopeProcess.Outcome {
            try PeriscopeProcess.run(["extract", "tiny", "--dataset", jobsRoot.appendingPathComponent(dataset).path,
                                      "--layers", "layer3,avgpool", "--pool", "mean", "--rows-per-shard", "8", "--batch-size", "4",
                                      "--output-dir", output.path, "--quiet", "--data-dir", dataDirectory.path])
        }
    }

    /// A running server and a JSON client for it.
    struct Server {
        let process: ServeProcess
        let port: Int

        func stop() {
            process.process.terminate()
            process.process.waitUntilExit()
        }

        func send(_ method: String, _ path: String, json: [String: Any]) async throws -> (Int, [String: Any]) {
            try await send(method, path, body: try JSONSerialization.data(withJSONObject: json))
        }

        func send(_ method: String, _ path: String, body: Data? = nil) async throws -> (Int, [String: Any]) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            request.httpMethod = method
            request.timeoutInterval = 120
            if let body {
                request.httpBody = body
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, object ?? ["body": String(decoding: data, as: UTF8.self)])
        }

        func text(_ path: String) async throws -> String {
            let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            return String(decoding: data, as: UTF8.self)
        }

        /// Polls `GET /v1/jobs/{id}` until `condition` holds (5 minutes at most).
        func waitForJob(_ id: String, until condition: ([String: Any]) -> Bool) async throws -> [String: Any] {
            let deadline = ContinuousClock.now + .seconds(300)
            while true {
                let (status, job) = try await send("GET", "/v1/jobs/\(id)")
                guard status == 200 else { throw Failure.status(status, "\(job)") }
                if condition(job) { return job }
                guard ContinuousClock.now < deadline else { throw Failure.timeout("\(job)") }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    enum Failure: Error {
        case setup(String)
        case status(Int, String)
        case timeout(String)
    }
}
