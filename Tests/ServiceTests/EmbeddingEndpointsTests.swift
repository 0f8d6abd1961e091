import Foundation
import Models
import Tensors
import Testing
import TestSupport
@testable import Service

/// `POST /v1/embeddings` over a real socket: OpenAI's shapes and error envelope, the extensions,
/// Matryoshka dimensions, sentence-transformers directories, images, and `GET /v1/models` for
/// OpenAI clients.
@Suite struct EmbeddingEndpointsTests {
    /// The `data[i].embedding` vectors of a reply, decoding base64 items.
    static func vectors(_ reply: LiveReply) throws -> [[Float]] {
        let data = try #require(try reply.json().objectValue?["data"]?.arrayElements, "\(reply.text.prefix(300))")
        return try data.map { item in
            let embedding = try #require(item.objectValue?["embedding"])
            if case .string(let text) = embedding {
                let bytes = try Base64.decode(text)
                return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            }
            return try #require(embedding.numericArray).floats()
        }
    }

    static func norm(_ vector: [Float]) -> Float { vector.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// 1 − cosine similarity.
    static func cosineDistance(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y) }
        return 1 - dot / (aa.squareRoot() * bb.squareRoot())
    }

    static let matryoshka = #"{"matryoshka_dimensions": [32, 16, 8]}"#

    @Test func openAIShapesEncodingsAndExtensions() async throws {
        let service = try await LiveService.start([.bert("bert"), .bertEmbedding("bert-mrl", embedding: Self.matryoshka)])
        do {
            let texts = ["Periscope looks inside networks.", "a b c"]
            let float = try await service.post("/v1/embeddings", json: #"{"model":"bert","input":["Periscope looks inside networks.","a b c"],"encoding_format":"float","user":"u1"}"#)
            #expect(float.status == 200, "\(float.text.prefix(300))")
            let document = try float.json().objectValue!
            #expect(document["object"]?.stringValue == "list" && document["model"]?.stringValue == "bert")
            let items = document["data"]!.arrayElements!
            #expect(items.count == 2)
            for (index, item) in items.enumerated() {
                #expect(item.objectValue?["object"]?.stringValue == "embedding")
                #expect(item.objectValue?["index"]?.numberValue?.intValue == index)
                #expect(item.objectValue?["truncated"]?.boolValue == false)
            }
            let tokens = items.compactMap { $0.objectValue?["tokens"]?.numberValue?.intValue }
            let usage = document["usage"]!.objectValue!
            #expect(usage["prompt_tokens"]?.numberValue?.intValue == tokens.reduce(0, +))
            #expect(usage["total_tokens"]?.numberValue?.intValue == tokens.reduce(0, +))
            let vectors = try Self.vectors(float)
            #expect(vectors.allSatisfy { $0.count == 32 && abs(Self.norm($0) - 1) < 1e-5 })

            // The native path gives the same numbers (mean pooling, normalized).
            let native = try FeatureRequests.features(try await service.post("/v1/models/bert/features",
                json: FeatureRequests.textBody(texts, layers: ["last_hidden_state"], extra: #","pool":"mean","normalize":true"#)))
            #expect(native["last_hidden_state"]!.values == vectors.flatMap { $0 })

            // base64 (the SDKs' default) is the same float32 bytes; the model as name:version.
            let base64 = try await service.post("/v1/embeddings", json: #"{"model":"bert:1","input":["Periscope looks inside networks.","a b c"],"encoding_format":"base64"}"#)
            #expect(base64.status == 200)
            #expect(try base64.json().objectValue?["model"]?.stringValue == "bert:1")
            #expect(try Self.vectors(base64) == vectors)
            // A single string is one item.
            #expect(try Self.vectors(try await service.post("/v1/embeddings", json: #"{"model":"bert","input":"a b c"}"#)) == [vectors[1]])

            // Token ids (WordPiece ids without special tokens) embed as their text does.
            let tokenizer = try #require(TestModels.bert.get().tokenizer)
            let ids = texts.map { tokenizer.tokenIds($0).map(String.init).joined(separator: ",") }
            let byIds = try await service.post("/v1/embeddings", json: #"{"model":"bert","input":[[\#(ids[0])],[\#(ids[1])]]}"#)
            #expect(byIds.status == 200, "\(byIds.text.prefix(300))")
            #expect(try Self.vectors(byIds) == vectors)
            let oneIds = try await service.post("/v1/embeddings", json: #"{"model":"bert","input":[\#(ids[1])]}"#)
            #expect(try Self.vectors(oneIds) == [vectors[1]])

            // Extensions: any layer, pool, normalize; one item per input and layer.
            let layered = try await service.post("/v1/embeddings", json: #"{"model":"bert","input":["a b c"],"layers":["encoder.layer.0","pooler_output"],"pool":"cls","normalize":false}"#)
            #expect(layered.status == 200, "\(layered.text.prefix(300))")
            let layeredItems = try layered.json().objectValue!["data"]!.arrayElements!
            #expect(layeredItems.map { $0.objectValue!["layer"]!.stringValue! } == ["encoder.layer.0", "pooler_output"])
            #expect(layeredItems.map { $0.objectValue!["index"]!.numberValue!.intValue! } == [0, 0])

            // Matryoshka: truncated and renormalized, only where declared.
            let short = try await service.post("/v1/embeddings", json: #"{"model":"bert-mrl","input":["a b c"],"dimensions":8}"#)
            #expect(short.status == 200, "\(short.text.prefix(300))")
            let shortVector = try Self.vectors(short)[0]
            let expected = Array(vectors[1].prefix(8))
            let scale = Self.norm(expected)
            #expect(shortVector.count == 8 && zip(shortVector, expected).allSatisfy { abs($0 - $1 / scale) < 1e-6 })
            let refused = try await service.post("/v1/embeddings", json: #"{"model":"bert","input":["a b c"],"dimensions":8}"#)
            #expect(refused.status == 400)
            let error = try refused.json().objectValue!["error"]!.objectValue!
            #expect(error["param"]?.stringValue == "dimensions" && error["type"]?.stringValue == "invalid_request_error")
            #expect(error["message"]?.stringValue?.contains("Matryoshka") == true && error["code"]?.stringValue == "bad_request")
            #expect(try await service.post("/v1/embeddings", json: #"{"model":"bert-mrl","input":["a"],"dimensions":64}"#).status == 400)

            // GET /v1/models: native fields and OpenAI's list side by side.
            let list = try await service.get("/v1/models").json().objectValue!
            #expect(list["models"]?.arrayElements?.count == 2)
            #expect(list["object"]?.stringValue == "list")
            let data = try #require(list["data"]?.arrayElements)
            #expect(Set(data.compactMap { $0.objectValue?["id"]?.stringValue }) == ["bert", "bert-mrl"])
            #expect(data.allSatisfy { $0.objectValue?["object"]?.stringValue == "model" && ($0.objectValue?["created"]?.numberValue?.intValue ?? 0) > 1_700_000_000
                && $0.objectValue?["owned_by"]?.stringValue == "periscope" })
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// Every bad request, and its status and `param`.
    static let badRequests: [(body: String, status: Int, param: String?)] = [
        (#"{"input":"a"}"#, 400, "model"),
        (#"{"model":"bert"}"#, 400, "input"),
        (#"{"model":"bert","input":[]}"#, 400, "input"),
        (#"{"model":"bert","input":["a",1]}"#, 400, "input[1]"),
        (#"{"model":"bert","input":[[1,2],["x"]]}"#, 400, "input[1]"),
        (#"{"model":"bert","input":[1.5]}"#, 400, "input"),
        (#"{"model":"bert","input":[[99999999]]}"#, 400, "input[0][0]"),
        (#"{"model":"bert","input":"a","encoding_format":"int8"}"#, 400, "encoding_format"),
        (#"{"model":"bert","input":"a","dimensions":0}"#, 400, "dimensions"),
        (#"{"model":"bert","input":"a","truncate":"middle"}"#, 400, "truncate"),
        (#"{"model":"bert","input":"a","prompt_name":"query"}"#, 400, "prompt_name"),
        (#"{"model":"bert","input":"a","layers":["nope"]}"#, 404, nil),
        (#"{"model":"bert","input":"a","layers":["last_hidden_state"],"pool":"none"}"#, 400, "pool"),
        (#"{"model":"bert","input":"a","temperature":1}"#, 400, "temperature"),
        (#"{"model":"nobody","input":"a"}"#, 404, nil),
        (#"{"model":"bert:x","input":"a"}"#, 400, "model"),
        (#"{"model":"bert:7","input":"a"}"#, 404, nil),
        (#"{"model":"resnet","input":"hello"}"#, 400, "input"),
        (#"{"model":"resnet","input":["data:image/png;base64,!!!"]}"#, 400, "input"),
        (#"[1]"#, 400, nil),
    ]

    /// Every bad request gets OpenAI's envelope with the status the rest of the API uses and the
    /// field in `param`; a vision model embeds images given as data URIs (the same vectors as the
    /// native route's mean-pooled layer).
    @Test func errorsUseOpenAIsEnvelopeAndImagesWork() async throws {
        let service = try await LiveService.start([.bert("bert"), .resnet("resnet")])
        do {
            for (body, status, param) in Self.badRequests {
                let reply = try await service.post("/v1/embeddings", json: body)
                #expect(reply.status == status, "\(body): \(reply.text.prefix(300))")
                let error = try #require(try reply.json().objectValue?["error"]?.objectValue, "\(body): \(reply.text)")
                #expect(error["message"]?.stringValue?.isEmpty == false, "\(body)")
                #expect(error["type"]?.stringValue == "invalid_request_error", "\(body)")
                #expect(error["code"]?.stringValue?.isEmpty == false, "\(body)")
                if let param { #expect(error["param"]?.stringValue == param, "\(body): \(reply.text)") }
            }

            let png = try Data(contentsOf: Fixtures.url("images/rgb8_37x23.png")).base64EncodedString()
            let reply = try await service.post("/v1/embeddings", json: #"{"model":"resnet","input":["data:image/png;base64,\#(png)"],"layers":["avgpool"],"normalize":false}"#)
            #expect(reply.status == 200, "\(reply.text.prefix(300))")
            let native = try FeatureRequests.features(try await service.post("/v1/models/resnet/features",
                json: #"{"image":"\#(png)","layers":["avgpool"],"pool":"mean"}"#))
            #expect(try Self.vectors(reply) == [native["avgpool"]!.values])
            #expect(try reply.json().objectValue?["usage"]?.objectValue?["prompt_tokens"]?.numberValue?.intValue == 0)
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// A sentence-transformers directory registered without options embeds as
    /// `SentenceTransformer(dir).encode` does (pooling, Dense + Tanh, Normalize, max_seq_length 24,
    /// truncation at the end), prompts included.
    @Test func sentenceTransformersDirectoryEmbedsLikeSentenceTransformers() async throws {
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("embeddings/st_tiny/expected.json"))) as! [String: Any]
        let texts = expected["texts"] as! [String]
        let service = try await LiveService.start([.sentenceTransformers("st")])
        do {
            let list = texts.map { #"""# + $0 + #"""# }.joined(separator: ",")
            for (promptName, key) in [(nil, "plain"), ("query", "query")] as [(String?, String)] {
                let prompt = promptName.map { #","prompt_name":"\#($0)""# } ?? ""
                let reply = try await service.post("/v1/embeddings", json: #"{"model":"st","input":[\#(list)]\#(prompt)}"#)
                #expect(reply.status == 200, "\(reply.text.prefix(300))")
                let vectors = try Self.vectors(reply)
                let reference = (expected[key] as! [[Double]]).map { $0.map(Float.init) }
                #expect(vectors.count == reference.count)
                for (got, want) in zip(vectors, reference) {
                    #expect(got.count == 16)
                    #expect(Self.cosineDistance(got, want) < 1e-5, "\(key): \(Self.cosineDistance(got, want))")
                    #expect(zip(got, want).allSatisfy { abs($0 - $1) < 1e-5 }, "\(key)")
                }
                // The long text was cut at 24 tokens, and says so.
                let items = try reply.json().objectValue!["data"]!.arrayElements!
                #expect(items[2].objectValue?["truncated"]?.boolValue == true && items[2].objectValue?["tokens"]?.numberValue?.intValue == 24)
                #expect(items[0].objectValue?["truncated"]?.boolValue == false)
            }
            let unknown = try await service.post("/v1/embeddings", json: #"{"model":"st","input":"a","prompt_name":"nope"}"#)
            #expect(unknown.status == 400 && unknown.text.contains("passage"))

            // Registered over HTTP by its directory, without options: the same vectors.
            let root = service.application.registry.modelRoot
            for copy in ["st-copy", "st-broken"] { try FileManager.default.copyItem(atPath: root.absolutePath("st"), toPath: root.absolutePath(copy)) }
            let registered = try await service.post("/v1/models", json: #"{"name":"st2","architecture":"bert","weights_path":"st-copy"}"#)
            #expect(registered.status == 201, "\(registered.text)")
            let again = try await service.post("/v1/embeddings", json: #"{"model":"st2","input":[\#(list)],"prompt_name":"query"}"#)
            let reference = (expected["query"] as! [[Double]]).map { $0.map(Float.init) }
            #expect(zip(try Self.vectors(again), reference).allSatisfy { Self.cosineDistance($0, $1) < 1e-5 })
            // A broken sentence-transformers file is refused at registration, naming it.
            try Data(#"{"pooling_mode": "weightedmean"}"#.utf8).write(to: URL(fileURLWithPath: root.absolutePath("st-broken/1_Pooling/config.json")))
            let broken = try await service.post("/v1/models", json: #"{"name":"st3","architecture":"bert","weights_path":"st-broken/"}"#)
            #expect(broken.status == 400 && broken.text.contains("pooling_mode"), "\(broken.text)")
            let badEmbedding = try await service.post("/v1/models", json: #"{"name":"st4","architecture":"bert","weights_path":"st-copy/model.safetensors","config":{"embedding":{"pool":"avg"}}}"#)
            #expect(badEmbedding.status == 400 && badEmbedding.text.contains("embedding.pool"), "\(badEmbedding.text)")
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
