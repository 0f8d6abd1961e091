import Foundation
import Testing
import TestSupport
@testable import Service

/// No text is ever cut silently: on every text endpoint an over-long input is either reported as
/// truncated (with the tokens it was run as) or, with `truncate: "none"` (and always on V2, which
/// has no place to report it), refused with a 413 naming the input and its token count.
@Suite struct TruncationTests {
    /// 100 words: 102 tokens with [CLS] and [SEP]; the BERT fixture takes 64 positions.
    static let long = String(repeating: "word ", count: 100)

    @Test func everyTextEndpointReportsOrRefusesTruncation() async throws {
        let service = try await LiveService.start([.bert("bert")])
        do {
            // Native features: reported by default (the model's default, end), refused with none.
            let features = try await service.post("/v1/models/bert/features", json: #"{"text":["short one","\#(Self.long)"],"pool":"mean"}"#)
            #expect(features.status == 200, "\(features.text.prefix(300))")
            let report = try #require(try features.json().objectValue?["text_inputs"]?.arrayElements)
            #expect(report.map { $0.objectValue!["truncated"]!.boolValue! } == [false, true])
            #expect(report.map { $0.objectValue!["tokens"]!.numberValue!.intValue! } == [4, 64])
            let refused = try await service.post("/v1/models/bert/features", json: #"{"text":["short one","\#(Self.long)"],"truncate":"none"}"#)
            #expect(refused.status == 413 && refused.text.contains("text[1]") && refused.text.contains("102 tokens"), "\(refused.text)")
            #expect(refused.errorType == "input_too_long")
            // truncate start keeps the last tokens; return_tokens shows them.
            let start = try await service.post("/v1/models/bert/features", json: #"{"text":"first \#(Self.long)","truncate":"start","return_tokens":true}"#)
            let tokens = try #require(try start.json().objectValue?["text_inputs"]?.arrayElements?.first?.objectValue?["token_strings"]?.arrayElements)
            #expect(tokens.count == 64 && tokens.first?.stringValue == "[CLS]" && tokens.last?.stringValue == "[SEP]")
            #expect(!tokens.contains { $0.stringValue == "first" })
            let safetensors = try await service.post("/v1/models/bert/features", json: #"{"text":"\#(Self.long)"}"#, headers: ["Accept": "application/octet-stream"])
            #expect(try SafetensorsBytes.parse(safetensors.body).metadata["text_inputs"] == #"[{"tokens":64,"truncated":true}]"#)

            // Attributions: reported.
            let attribution = try await service.post("/v1/models/bert/attributions", json: #"{"text":"\#(Self.long)","target":{"layer":"pooler_output","reduce":"l2"},"method":"saliency"}"#)
            #expect(attribution.status == 200, "\(attribution.text.prefix(300))")
            #expect(try attribution.json().objectValue?["text_inputs"]?.arrayElements?.first?.objectValue?["truncated"]?.boolValue == true)

            // V2: never cut, a 413.
            let v2 = try await service.post("/v2/models/bert/infer", json: #"{"inputs":[{"name":"text","shape":[2],"datatype":"BYTES","data":["ok","\#(Self.long)"]}]}"#)
            #expect(v2.status == 413 && v2.text.contains("[1]") && v2.text.contains("102 tokens"), "\(v2.text)")
            #expect(try await service.post("/v2/models/bert/infer", json: #"{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["ok"]}]}"#).status == 200)

            // Embeddings: reported per item; none is a 413 in OpenAI's envelope naming the input.
            let embedded = try await service.post("/v1/embeddings", json: #"{"model":"bert","input":["ok","\#(Self.long)"]}"#)
            let items = try #require(try embedded.json().objectValue?["data"]?.arrayElements)
            #expect(items.map { $0.objectValue!["truncated"]!.boolValue! } == [false, true])
            let tooLong = try await service.post("/v1/embeddings", json: #"{"model":"bert","input":["ok","\#(Self.long)"],"truncate":"none"}"#)
            #expect(tooLong.status == 413)
            let error = try #require(try tooLong.json().objectValue?["error"]?.objectValue)
            #expect(error["param"]?.stringValue == "input[1]" && error["message"]?.stringValue?.contains("102 tokens") == true)
            let ids = Array(repeating: "1000", count: 80).joined(separator: ",")
            let idsTooLong = try await service.post("/v1/embeddings", json: #"{"model":"bert","input":[[\#(ids)]],"truncate":"none"}"#)
            #expect(idsTooLong.status == 413 && idsTooLong.text.contains("82 tokens"), "\(idsTooLong.text)")

            // Tokenize: reported, or refused.
            let tokenized = try await service.post("/v1/models/bert/tokenize", json: #"{"text":"\#(Self.long)"}"#)
            let input = try #require(try tokenized.json().objectValue?["inputs"]?.arrayElements?.first?.objectValue)
            #expect(input["truncated"]?.boolValue == true && input["untruncated_tokens"]?.numberValue?.intValue == 102)
            #expect(input["ids"]?.arrayElements?.count == 64)
            let none = try await service.post("/v1/models/bert/tokenize", json: #"{"text":["a","\#(Self.long)"],"truncate":"none"}"#)
            #expect(none.status == 413 && none.text.contains("text[1]"), "\(none.text)")
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
