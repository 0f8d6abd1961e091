import Foundation
import HTTP
import Tensors
import Testing
import TestSupport
@testable import Service
#if canImport(Glibc)
import Glibc
#endif

/// The pre-processing stage: its bounds, the 429 it answers, disconnections, deadlines, failures,
/// shutdown and its metrics, first without HTTP, then through the routes over a socket.
@Suite struct PreprocessingStageTests {
    private static func sample(_ metrics: ServiceMetrics, _ name: String, _ labels: [String: String] = [:]) throws -> Double? {
        try ExpositionParser.parse(metrics.exposition()).samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// A thread of `stage` held by `gate` until the gate opens.
    private static func hold(_ stage: PreprocessingStage, with gate: Gate) async throws -> Task<Void, any Error> {
        let entered = gate.entered
        let blocker = Task { _ = try await stage.run(deadline: nil, disconnection: nil) { gate.pass() } }
        try await gate.waitUntilEntered(entered + 1)
        return blocker
    }

    @Test func runsWorkOnItsOwnThreadAndReturnsItsResultAndTime() async throws {
        let stage = PreprocessingStage(settings: .init(threads: 2, queueCapacity: 4))
        defer { stage.shutdown() }
        let (isMainThread, seconds) = try await stage.run(deadline: nil, disconnection: nil) { Thread.isMainThread }
        #expect(!isMainThread && seconds >= 0)
        await #expect(throws: RequestError.self) {
            _ = try await stage.run(deadline: nil, disconnection: nil) { () throws -> Int in throw RequestError(field: "$", "bad") }
        }
    }

    /// Every thread busy and the queue full: 429 naming the stage, with Retry-After, counted; the
    /// waiting request runs once a thread is free.
    @Test func aFullStageRefusesWith429AndRetryAfter() async throws {
        let metrics = ServiceMetrics(includeProcessMetrics: false)
        let stage = PreprocessingStage(settings: .init(threads: 1, queueCapacity: 1), metrics: metrics)
        let gate = Gate()
        defer {
            gate.open()
            stage.shutdown()
        }
        let blocker = try await Self.hold(stage, with: gate)
        let waiting = Task { try await stage.run(deadline: nil, disconnection: nil) { 7 } }
        #expect(await eventually { stage.queueDepth == 1 })
        do {
            _ = try await stage.run(deadline: nil, disconnection: nil) { 8 }
            Issue.record("a third request was accepted by one busy thread and a queue of 1")
        } catch let error as ServiceError {
            guard case .preprocessingFull(let capacity, let threads, let seconds) = error else { throw error }
            #expect(capacity == 1 && threads == 1 && (1...60).contains(seconds))
            #expect(error.status.code == 429 && error.errorType == "preprocessing_full" && error.headers["Retry-After"] == String(seconds))
            #expect(error.message.contains("pre-processing stage is full"), "\(error.message)")
        }
        #expect(try Self.sample(metrics, "periscope_preprocessing_in_flight") == 1)
        #expect(try Self.sample(metrics, "periscope_preprocessing_queue_depth") == 1)
        #expect(try Self.sample(metrics, "periscope_preprocessing_rejected_total", ["reason": "preprocessing_full"]) == 1)

        gate.open()
        try await blocker.value
        #expect(try await waiting.value.value == 7)
        #expect(stage.inFlight == 0 && stage.queueDepth == 0)
        #expect(try Self.sample(metrics, "periscope_preprocessing_in_flight") == 0)
        #expect(try Self.sample(metrics, "periscope_preprocessing_queue_depth") == 0)
        #expect(try Self.sample(metrics, "periscope_preprocessing_seconds_count") == 2)
        #expect(try Self.sample(metrics, "periscope_preprocessing_wait_seconds_count") == 2)
    }

    @Test func aQueueOfZeroRefusesWheneverEveryThreadIsBusy() async throws {
        let stage = PreprocessingStage(settings: .init(threads: 1, queueCapacity: 0))
        let gate = Gate()
        defer {
            gate.open()
            stage.shutdown()
        }
        let blocker = try await Self.hold(stage, with: gate)
        await #expect(throws: ServiceError.preprocessingFull(capacity: 0, threads: 1, retryAfterSeconds: 1)) {
            _ = try await stage.run(deadline: nil, disconnection: nil) { 1 }
        }
        gate.open()
        try await blocker.value
        #expect(try await stage.run(deadline: nil, disconnection: nil) { 2 }.value == 2)
    }

    /// A waiting request whose client hangs up leaves at once, without running, and its place is
    /// free for the next request.
    @Test func aWaitingRequestWhoseClientLeavesFreesItsPlace() async throws {
        let metrics = ServiceMetrics(includeProcessMetrics: false)
        let stage = PreprocessingStage(settings: .init(threads: 1, queueCapacity: 1), metrics: metrics)
        let gate = Gate()
        defer {
            gate.open()
            stage.shutdown()
        }
        let blocker = try await Self.hold(stage, with: gate)
        let disconnection = ClientDisconnection()
        let ran = Flag()
        let leaving = Task { try await stage.run(deadline: nil, disconnection: disconnection) { ran.set() } }
        #expect(await eventually { stage.queueDepth == 1 })
        disconnection.signal()
        await #expect(throws: ServiceError.clientDisconnected) { try await leaving.value }
        #expect(stage.queueDepth == 0)
        let next = Task { try await stage.run(deadline: nil, disconnection: nil) { 3 } }
        #expect(await eventually { stage.queueDepth == 1 })
        gate.open()
        try await blocker.value
        #expect(try await next.value.value == 3)
        #expect(!ran.isSet)
        #expect(try Self.sample(metrics, "periscope_preprocessing_rejected_total", ["reason": "client_disconnected"]) == 1)
        #expect(try Self.sample(metrics, "periscope_preprocessing_rejected_total", ["reason": "preprocessing_full"]) == 0)
    }

    @Test func aRequestWhoseDeadlinePassesWhileWaitingDoesNotRun() async throws {
        let stage = PreprocessingStage(settings: .init(threads: 1, queueCapacity: 1))
        let gate = Gate()
        defer {
            gate.open()
            stage.shutdown()
        }
        let blocker = try await Self.hold(stage, with: gate)
        let deadline = try RequestDeadline(headers: [RequestDeadline.headerName: "20"], arrival: .now, defaultMilliseconds: 1000,
                                           maximumMilliseconds: 1000)
        let ran = Flag()
        let late = Task { try await stage.run(deadline: deadline, disconnection: nil) { ran.set() } }
        #expect(await eventually { stage.queueDepth == 1 })
        try await Task.sleep(for: .milliseconds(40))
        gate.open()
        try await blocker.value
        await #expect(throws: ServiceError.deadlineExceeded(milliseconds: 20)) { try await late.value }
        #expect(!ran.isSet)
    }

    /// Work that throws frees its thread: with one thread and no queue, the next request runs.
    @Test func workThatThrowsFreesItsThread() async throws {
        struct Failure: Error {}
        let stage = PreprocessingStage(settings: .init(threads: 1, queueCapacity: 0))
        defer { stage.shutdown() }
        for _ in 0..<3 {
            await #expect(throws: Failure.self) {
                _ = try await stage.run(deadline: nil, disconnection: nil) { () throws -> Int in throw Failure() }
            }
            #expect(stage.inFlight == 0)
        }
        #expect(try await stage.run(deadline: nil, disconnection: nil) { 4 }.value == 4)
    }

    @Test func shutdownAnswersWaitingRequestsAndRefusesNewOnes() async throws {
        let stage = PreprocessingStage(settings: .init(threads: 1, queueCapacity: 2))
        let gate = Gate()
        let blocker = try await Self.hold(stage, with: gate)
        let waiting = Task { try await stage.run(deadline: nil, disconnection: nil) { 5 } }
        #expect(await eventually { stage.queueDepth == 1 })
        // Shutdown waits for the running work, so it runs off the test's task.
        let stopped = Task.detached { stage.shutdown() }
        await #expect(throws: ServiceError.shuttingDown) { try await waiting.value }
        gate.open()
        await stopped.value
        try await blocker.value
        await #expect(throws: ServiceError.shuttingDown) { _ = try await stage.run(deadline: nil, disconnection: nil) { 6 } }
    }
}

// MARK: - Over HTTP

extension PreprocessingStageTests {
    /// The value of a sample of `/metrics`.
    private static func sample(_ service: LiveService, _ name: String, _ labels: [String: String] = [:]) async throws -> Double? {
        try ExpositionParser.parse(try await service.get("/metrics").text).samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// With the one pre-processing thread held and the one waiting place taken, every route that
    /// pre-processes answers 429 `preprocessing_full` naming the stage, with Retry-After (in OpenAI's
    /// envelope on /v1/embeddings); the metrics show the stage and its rejections; a waiting client
    /// that hangs up frees its place; health is still answered; the waiting request is answered once
    /// the thread is free.
    @Test func aFullStageIsA429NamingItOnEveryRoute() async throws {
        let service = try await LiveService.start([.mlp("mlp")], settings: ["preprocessing.threads": "1", "preprocessing.queue_size": "1"])
        let gate = Gate()
        do {
            let stage = service.application.context.preprocessing
            let input = randomTensor([1, 8], seed: 1)
            let body = FeatureRequests.tensorBody(input, layers: ["output"])
            let blocker = try await Self.hold(stage, with: gate)

            let hangingUp = try RawSocket.send(port: service.port, RawSocket.post(path: "/v1/models/mlp/features", json: body))
            #expect(await eventually { stage.queueDepth == 1 })
            close(hangingUp)
            #expect(await eventually { stage.queueDepth == 0 }, "the client that hung up kept its place")

            let queued = Task { try await service.post("/v1/models/mlp/features", json: body) }
            #expect(await eventually { stage.queueDepth == 1 })
            let v2 = #"{"inputs":[{"name":"input","shape":[1,8],"datatype":"FP32","data":[1,2,3,4,5,6,7,8]}]}"#
            let refusals: [(path: String, json: String)] = [
                ("/v1/models/mlp/features", body),
                ("/v1/models/mlp/versions/1/features", body),
                ("/v1/models/mlp/attributions", FeatureRequests.attributionBody(input, target: #"{"class": 0}"#, method: "saliency", layers: [])),
                ("/v2/models/mlp/infer", v2),
                ("/v2/models/mlp/versions/1/infer", v2),
                ("/v1/embeddings", #"{"model":"mlp","input":[[1,2]]}"#),
                ("/v1/models/mlp/tokenize", #"{"text":"hello"}"#),
                ("/v1/models/mlp/versions/1/tokenize", #"{"text":"hello"}"#),
            ]
            for (path, json) in refusals {
                let reply = try await service.post(path, json: json)
                #expect(reply.status == 429, "\(path): \(reply.status) \(reply.text)")
                #expect((reply.headers["retry-after"].flatMap { Int($0) } ?? 0) >= 1, "\(path): \(reply.headers)")
                #expect(reply.text.contains("pre-processing stage is full"), "\(path): \(reply.text)")
                let errorType = path == "/v1/embeddings" ? try reply.json().objectValue?["error"]?.objectValue?["code"]?.stringValue : reply.errorType
                #expect(errorType == "preprocessing_full", "\(path): \(reply.text)")
            }
            #expect(try await service.get("/healthz").status == 200)

            #expect(try await Self.sample(service, "periscope_preprocessing_in_flight") == 1)
            #expect(try await Self.sample(service, "periscope_preprocessing_queue_depth") == 1)
            #expect(try await Self.sample(service, "periscope_preprocessing_rejected_total", ["reason": "preprocessing_full"]) == Double(refusals.count))
            #expect(try await Self.sample(service, "periscope_preprocessing_rejected_total", ["reason": "client_disconnected"]) == 1)
            #expect(try await Self.sample(service, "periscope_requests_total", ["model": "mlp", "endpoint": "features", "status": "429"]) == 2)

            gate.open()
            try await blocker.value
            let answered = try await queued.value
            #expect(answered.status == 200, "\(answered.text.prefix(300))")
            #expect(stage.inFlight == 0 && stage.queueDepth == 0)
            #expect(try await Self.sample(service, "periscope_preprocessing_in_flight") == 0)
        } catch {
            gate.open()
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// Requests that fail in the stage — a body that is not JSON, an image that does not decode, a
    /// data URI that is no image, a V2 input of the wrong shape — free its thread: with one thread
    /// and no waiting place, each next request still runs.
    @Test func requestsThatFailInTheStageFreeItsThread() async throws {
        let service = try await LiveService.start([.resnet("resnet")], settings: ["preprocessing.threads": "1", "preprocessing.queue_size": "0"])
        do {
            let stage = service.application.context.preprocessing
            let failures: [(path: String, body: [UInt8], type: String)] = [
                ("/v1/models/resnet/features", Array("{not json".utf8), "application/json"),
                ("/v1/models/resnet/features", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3], "image/png"),
                ("/v1/embeddings", Array(#"{"model":"resnet","input":["data:image/png;base64,AAAA"]}"#.utf8), "application/json"),
                ("/v2/models/resnet/infer", Array(#"{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}"#.utf8), "application/json"),
            ]
            for (path, body, type) in failures {
                let reply = try await service.request("POST", path, body: body, headers: ["Content-Type": type])
                #expect(reply.status == 400, "\(path): \(reply.status) \(reply.text)")
                #expect(stage.inFlight == 0 && stage.queueDepth == 0, "\(path)")
            }
            let png = Array(try Data(contentsOf: Fixtures.url("images/rgb8_37x23.png")))
            let reply = try await service.request("POST", "/v1/models/resnet/features?layers=avgpool&pool=mean", body: png,
                                                  headers: ["Content-Type": "image/png"])
            #expect(reply.status == 200, "\(reply.text.prefix(300))")
            #expect(try await Self.sample(service, "periscope_preprocessing_rejected_total", ["reason": "preprocessing_full"]) == 0)
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// Images, texts and tensors through the native API, V2 and /v1/embeddings, and attributions and
    /// tokenize, are answered as before, each request in two turns of the stage: its body parsed,
    /// then (the model resolved) its inputs prepared.
    @Test func everyRouteIsPreprocessedInTheStage() async throws {
        let service = try await LiveService.start([.resnet("resnet"), .bert("bert"), .mlp("mlp")])
        do {
            let png = Array(try Data(contentsOf: Fixtures.url("images/rgb8_37x23.png")))
            let base64 = Data(png).base64EncodedString()
            let json = "application/json"
            let requests: [(path: String, body: [UInt8], type: String)] = [
                ("/v1/models/resnet/features?layers=avgpool&pool=mean", png, "image/png"),
                ("/v1/models/resnet/features", Array(#"{"image":"\#(base64)","layers":["avgpool"],"pool":"mean"}"#.utf8), json),
                ("/v1/models/bert/features", Array(FeatureRequests.textBody(["hello world"], layers: ["last_hidden_state"]).utf8), json),
                ("/v1/models/mlp/versions/1/features", Array(FeatureRequests.tensorBody(randomTensor([2, 8], seed: 3), layers: ["output"]).utf8), json),
                ("/v1/models/resnet/attributions", Array(FeatureRequests.attributionBody(randomTensor([1, 3, 16, 16], seed: 4), target: #"{"class": 3}"#,
                                                                                        method: "saliency", layers: ["layer4"]).utf8), json),
                ("/v2/models/mlp/infer", Array(#"{"inputs":[{"name":"input","shape":[1,8],"datatype":"FP32","data":[1,2,3,4,5,6,7,8]}]}"#.utf8), json),
                ("/v2/models/bert/infer", Array(#"{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["hello world"]}]}"#.utf8), json),
                ("/v1/embeddings", Array(#"{"model":"bert","input":["hello world"]}"#.utf8), json),
                ("/v1/embeddings", Array(#"{"model":"resnet","input":["data:image/png;base64,\#(base64)"],"layers":["avgpool"]}"#.utf8), json),
                ("/v1/models/bert/tokenize", Array(#"{"text":"hello world"}"#.utf8), json),
            ]
            for (path, body, type) in requests {
                let before = try await Self.sample(service, "periscope_preprocessing_seconds_count") ?? 0
                let reply = try await service.request("POST", path, body: body, headers: ["Content-Type": type])
                #expect(reply.status == 200, "\(path): \(reply.status) \(reply.text.prefix(300))")
                #expect(try await Self.sample(service, "periscope_preprocessing_seconds_count") == before + 2, "\(path)")
            }
            #expect(try await Self.sample(service, "periscope_preprocessing_rejected_total", ["reason": "preprocessing_full"]) == 0)
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
