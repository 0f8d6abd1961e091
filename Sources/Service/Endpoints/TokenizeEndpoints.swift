import HTTP
import Models

/// `POST /v1/models/{name}[/versions/{version}]/tokenize`: what a text model's tokenizer makes of
/// texts, as the Hugging Face fast tokenizer reports it: ids, token strings, `special` flags, and
/// code-point offsets `[start, end)` into each original text (`[0, 0]` for added [CLS]/[SEP]).
///
/// Body: `{"text": "…" | ["…", …], "truncate": "end|start|none", "add_special_tokens": true}`;
/// answer: `{"model": {"name", "version"}, "max_length": n, "inputs": [{"ids": […], "tokens": […],
/// "special": […], "offsets": [[s, e], …], "truncated": false, "untruncated_tokens": n}]}`.
/// Parsing and tokenizing run in the pre-processing stage.
struct TokenizeEndpoints {
    let context: ServiceContext

    /// What a request asks for.
    private struct Tokenization: Sendable {
        var texts: [String]
        var addSpecialTokens: Bool
        /// nil: the model's default.
        var truncation: TruncationMode?
    }

    /// Parses the body, then tokenizes and encodes the answer, both in the pre-processing stage.
    func tokenize(_ request: HTTPRequest, _ requestContext: RequestContext, version: Int?) async throws -> HTTPResponse {
        let stage = context.preprocessing
        let tokenization = try await stage.run(deadline: nil, disconnection: requestContext.disconnection) { try Self.parse(request) }.value
        let model = try await context.manager.servedModel(name: request.pathParameter("name"), version: version)
        guard let tokenizer = model.model.tokenizer, let maxLength = model.model.maxSequenceLength else {
            throw RequestError(field: "text", "model '\(model.name)' has no tokenizer (text needs a BERT model registered with a vocab.txt next to its weights)")
        }
        let bytes = try await stage.run(deadline: nil, disconnection: requestContext.disconnection) {
            try Self.answer(tokenization, model: model, tokenizer: tokenizer, maxLength: maxLength)
        }.value
        try FeatureExecution(context: context).checkSize(bytes.count)
        return .json(bytes: bytes)
    }

    private static func parse(_ request: HTTPRequest) throws -> Tokenization {
        let document: JSONValue
        do {
            document = try JSONParser.parse(request.body.bytes ?? [])
        } catch {
            throw RequestError(error)
        }
        let body = try FieldReader(document, path: "$")
        try body.rejectUnknownKeys(["text", "truncate", "add_special_tokens"])
        let texts: [String]
        switch try body.required("text") {
        case .string(let text): texts = [text]
        case let value:
            guard let elements = value.arrayElements, !elements.isEmpty else {
                throw RequestError(field: "text", "expected a string or a non-empty array of strings, found \(value.kindDescription)")
            }
            texts = try elements.enumerated().map { (index, element) throws(RequestError) -> String in
                guard case .string(let text) = element else {
                    throw RequestError(field: "text[\(index)]", "expected a string, found \(element.kindDescription)")
                }
                return text
            }
        }
        let addSpecialTokens = try body.bool("add_special_tokens") ?? true
        let requested = try body.choice("truncate", as: TruncationMode.self)
        if !addSpecialTokens && requested != nil {
            throw RequestError(field: "truncate", "applies with add_special_tokens only (the model's input); without them nothing is cut")
        }
        return Tokenization(texts: texts, addSpecialTokens: addSpecialTokens, truncation: requested)
    }

    /// The answer's JSON: each text tokenized by the model's tokenizer.
    private static func answer(_ tokenization: Tokenization, model: ServedModel, tokenizer: any TextTokenizer,
                               maxLength: Int) throws -> [UInt8] {
        let truncation = tokenization.truncation ?? model.model.embedding.truncation
        let buffer = JSONOutputBuffer(capacity: 1024)
        buffer.append(raw: #"{"model":{"name":"#)
        buffer.append(string: model.name)
        buffer.append(raw: #","version":"#)
        buffer.append(integer: model.version)
        buffer.append(raw: #"},"max_length":"#)
        buffer.append(integer: maxLength)
        buffer.append(raw: #","inputs":["#)
        for (index, text) in tokenization.texts.enumerated() {
            let spans: [TokenSpan], untruncated: Int
            if tokenization.addSpecialTokens {
                do {
                    (spans, untruncated) = try tokenizer.encodedSpans(text, maxLength: maxLength, truncation: truncation)
                } catch TokenizerError.sequenceTooLong(_, let tokens, let limit) {
                    throw RequestError(field: "text[\(index)]", "has \(tokens) tokens, more than the model's maximum of \(limit), and truncate is \"none\"",
                                       status: .contentTooLarge, errorType: "input_too_long")
                }
            } else {
                spans = tokenizer.tokenSpans(text)
                untruncated = spans.count
            }
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(raw: #"{"ids":"#)
            buffer.append(integers: spans.map(\.id))
            buffer.append(raw: #","tokens":["#)
            for (position, span) in spans.enumerated() {
                if position > 0 { buffer.append(UInt8(ascii: ",")) }
                buffer.append(string: span.token)
            }
            buffer.append(raw: #"],"special":["#)
            for (position, span) in spans.enumerated() {
                if position > 0 { buffer.append(UInt8(ascii: ",")) }
                buffer.append(raw: span.special ? "true" : "false")
            }
            buffer.append(raw: #"],"offsets":["#)
            for (position, span) in spans.enumerated() {
                if position > 0 { buffer.append(UInt8(ascii: ",")) }
                buffer.append(integers: [span.start, span.end])
            }
            buffer.append(raw: #"],"truncated":"#)
            buffer.append(raw: spans.count < untruncated ? "true" : "false")
            buffer.append(raw: #","untruncated_tokens":"#)
            buffer.append(integer: untruncated)
            buffer.append(UInt8(ascii: "}"))
        }
        buffer.append(raw: "]}")
        return buffer.takeBytes()
    }
}
