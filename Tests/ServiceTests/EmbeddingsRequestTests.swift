import Testing
@testable import Service

/// `EmbeddingsRequest` parsing: every input form, the model reference, options, and the field each
/// error names.
@Suite struct EmbeddingsRequestTests {
    static func parse(_ json: String) throws(RequestError) -> EmbeddingsRequest {
        try EmbeddingsRequest.parse(Array(json.utf8))
    }

    @Test func inputForms() throws {
        #expect(try Self.parse(#"{"model":"m","input":"a"}"#).input == .strings(["a"]))
        #expect(try Self.parse(#"{"model":"m","input":["a","b"]}"#).input == .strings(["a", "b"]))
        #expect(try Self.parse(#"{"model":"m","input":[1,2,3]}"#).input == .tokenIds([[1, 2, 3]]))
        #expect(try Self.parse(#"{"model":"m","input":[[1,2],[3]]}"#).input == .tokenIds([[1, 2], [3]]))
        #expect(try Self.parse(#"{"model":"m","input":[[1,2],[3,4]]}"#).input == .tokenIds([[1, 2], [3, 4]]))
        #expect(try Self.parse(#"{"model":"m","input":[[]]}"#).input == .tokenIds([[]]))
    }

    @Test func modelOptionsAndExtensions() throws {
        let request = try Self.parse(#"{"model":"all-minilm:2","input":"a","encoding_format":"base64","dimensions":64,"user":"u","layers":["x",-1],"pool":"max","normalize":false,"truncate":"start","prompt_name":"query"}"#)
        #expect(request.modelName == "all-minilm" && request.modelVersion == 2)
        #expect(request.encodingFormat == .base64 && request.dimensions == 64 && request.user == "u")
        #expect(request.layers?.count == 2 && request.pool == .max && request.normalize == false)
        #expect(request.truncate == .start && request.promptName == "query")
        let plain = try Self.parse(#"{"model":"m","input":"a"}"#)
        #expect(plain.encodingFormat == .float && plain.modelVersion == nil && plain.layers == nil && plain.truncate == nil)
    }

    @Test(arguments: [
        (#"{"model":"m"}"#, "input"),
        (#"{"input":"a"}"#, "model"),
        (#"{"model":"","input":"a"}"#, "model"),
        (#"{"model":":3","input":"a"}"#, "model"),
        (#"{"model":"m:0","input":"a"}"#, "model"),
        (#"{"model":"m","input":[]}"#, "input"),
        (#"{"model":"m","input":{}}"#, "input"),
        (#"{"model":"m","input":["a",["b"]]}"#, "input[1]"),
        (#"{"model":"m","input":[[1],"b"]}"#, "input[1]"),
        (#"{"model":"m","input":[1,2.5]}"#, "input"),
        (#"{"model":"m","input":[[[1]]]}"#, "input[0]"),
        (#"{"model":"m","input":"a","encoding_format":"bytes"}"#, "encoding_format"),
        (#"{"model":"m","input":"a","dimensions":-1}"#, "dimensions"),
        (#"{"model":"m","input":"a","dimensions":1.5}"#, "dimensions"),
        (#"{"model":"m","input":"a","layers":[]}"#, "layers"),
        (#"{"model":"m","input":"a","pool":"avg"}"#, "pool"),
        (#"{"model":"m","input":"a","truncate":"both"}"#, "truncate"),
        (#"{"model":"m","input":"a","extra":1}"#, "extra"),
    ])
    func errorsNameTheField(json: String, field: String) {
        #expect {
            _ = try Self.parse(json)
        } throws: { error in
            (error as? RequestError)?.field == field
        }
    }
}
