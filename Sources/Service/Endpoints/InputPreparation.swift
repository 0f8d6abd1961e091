import Foundation
import Models
import Tensors

/// Turns a request's inputs — tensors, texts or encoded images — into `PreparedInputs` for a model,
/// validating everything a forward pass would otherwise trip on, before the job is queued: input
/// names, dtypes, shapes against the model's specification, one batch size, finite values, and for
/// BERT token ids inside the vocabulary. Every problem is a `RequestError` naming the field.
enum InputPreparation {
    /// Prepares a native request's input; texts are truncated per `truncation` (nil: the model's
    /// default) and the token strings kept when `returnTokens`.
    static func prepare(_ input: FeaturesRequest.Input, for model: LoadedModel, modelName: String,
                        truncation: TruncationMode? = nil, returnTokens: Bool = false) throws -> PreparedInputs {
        switch input {
        case .tensors(let tensors): try prepare(tensors: tensors, for: model, field: "inputs")
        case .text(let texts):
            try prepare(texts: texts, for: model, modelName: modelName, field: "text", truncation: truncation, returnTokens: returnTokens)
        case .images(let images): try prepare(images: images, for: model, modelName: modelName, field: "image")
        }
    }

    // MARK: - Tensors

    /// Named tensors (native `inputs`, V2 `inputs`).
    static func prepare(tensors: [RequestTensor], for model: LoadedModel, field: String) throws(RequestError) -> PreparedInputs {
        let specifications = model.inputs
        let known = specifications.map(\.name)
        var prepared: [String: Tensor] = [:]
        for input in tensors {
            guard let specification = specifications.first(where: { $0.name == input.name }) else {
                throw RequestError(field: input.field, "this model has no input '\(input.name)'; it takes: " + known.joined(separator: ", "))
            }
            guard prepared[input.name] == nil else { throw RequestError(field: input.field, "input '\(input.name)' is given twice") }
            let dtype = input.declaredDType.flatMap { specification.dtypes.contains($0) ? $0 : nil } ?? specification.dtypes[0]
            let tensor = try input.tensor(as: dtype)
            do {
                try specification.check(tensor)
            } catch {
                throw RequestError(field: input.field, "expected \(specification.summary), got \(tensor.dtype.rawValue) \(tensor.shape)")
            }
            if tensor.dtype.isFloatingPoint, let index = firstNonFiniteIndex(tensor) {
                throw RequestError(field: "\(input.field).data", "element \(index) is NaN or infinite; inputs must be finite numbers")
            }
            prepared[input.name] = tensor
        }
        for specification in specifications where specification.isRequired && prepared[specification.name] == nil {
            throw RequestError(field: field, "missing input '\(specification.name)' (expected \(specification.summary))")
        }
        let rows = prepared.values.first?.shape.first ?? 0
        for input in tensors where prepared[input.name]!.shape.first != rows {
            throw RequestError(field: input.field, "has \(prepared[input.name]!.shape.first ?? 0) rows, the other inputs \(rows): every input needs the same batch size")
        }
        if case .bert(let configuration) = model.architecture {
            try checkTokens(prepared, tensors: tensors, configuration: configuration)
        }
        if case .clip = model.architecture {
            guard prepared["pixel_values"] != nil || prepared["input_ids"] != nil else {
                throw RequestError(field: field, "a CLIP model needs pixel_values (images) or input_ids (token ids, with an optional attention_mask)")
            }
            if let mask = prepared["attention_mask"], mask.shape != prepared["input_ids"]?.shape {
                throw RequestError(field: tensors.first { $0.name == "attention_mask" }?.field ?? field,
                                   "has shape \(mask.shape), expected the shape of input_ids \(prepared["input_ids"]?.shape ?? [])")
            }
        }
        return PreparedInputs(tensors: prepared, rows: rows, attentionMask: prepared["attention_mask"])
    }

    /// BERT: masks and token types shaped like the ids; ids inside the vocabulary, token types
    /// inside the type vocabulary (the embedding lookups would fail on the worker otherwise).
    private static func checkTokens(_ prepared: [String: Tensor], tensors: [RequestTensor], configuration: BertModel.Configuration) throws(RequestError) {
        func field(_ name: String) -> String { tensors.first { $0.name == name }?.field ?? name }
        guard let ids = prepared["input_ids"] else { return }
        for name in ["attention_mask", "token_type_ids"] {
            if let other = prepared[name], other.shape != ids.shape {
                throw RequestError(field: field(name), "has shape \(other.shape), expected the shape of input_ids \(ids.shape)")
            }
        }
        let limits = [("input_ids", configuration.vocabSize), ("token_type_ids", configuration.typeVocabSize)]
        for (name, limit) in limits {
            guard let tensor = prepared[name] else { continue }
            if let index = tensor.toInt64Array().firstIndex(where: { $0 < 0 || $0 >= Int64(limit) }) {
                throw RequestError(field: "\(field(name)).data", "element \(index) is outside 0..<\(limit)")
            }
        }
    }

    // MARK: - Text

    /// Texts for a BERT model with a tokenizer, tokenized (padded to the longest) and truncated per
    /// `truncation` (nil: the model's default, `embedding.truncate`). An over-long text with `none`
    /// is a 413 naming `field[index]` and its token count. The report says what each text became.
    static func prepare(texts: [String], for model: LoadedModel, modelName: String, field: String,
                        truncation: TruncationMode? = nil, returnTokens: Bool = false) throws -> PreparedInputs {
        try requireTokenizer(model, modelName: modelName, field: field)
        let batch = try tokenized(field: field) {
            try model.tokenizeBatch(texts, truncation: truncation ?? model.embedding.truncation)
        }
        return prepared(batch, for: model, returnTokens: returnTokens)
    }

    /// Pre-tokenized inputs (WordPiece ids without special tokens) for a BERT model with a
    /// tokenizer: wrapped in [CLS]/[SEP] and truncated like texts.
    static func prepare(tokenIds: [[Int]], for model: LoadedModel, modelName: String, field: String,
                        truncation: TruncationMode? = nil) throws -> PreparedInputs {
        try requireTokenizer(model, modelName: modelName, field: field)
        let batch = try tokenized(field: field) {
            try model.tokenizeBatch(tokenIds: tokenIds, truncation: truncation ?? model.embedding.truncation)
        }
        return prepared(batch, for: model, returnTokens: false)
    }

    private static func requireTokenizer(_ model: LoadedModel, modelName: String, field: String) throws(RequestError) {
        guard model.tokenizer != nil, model.maxSequenceLength != nil else {
            throw RequestError(field: field, "model '\(modelName)' takes no text (text needs a BERT model registered with a vocab.txt next to its weights, or a CLIP with vocab.json and merges.txt); send token ids as inputs")
        }
    }

    /// Runs the tokenizer, turning its per-input errors into errors naming `field[index]`.
    private static func tokenized(field: String, _ encode: () throws -> TokenizedBatch) throws -> TokenizedBatch {
        do {
            return try encode()
        } catch TokenizerError.sequenceTooLong(let index, let tokens, let maxLength) {
            throw RequestError(field: "\(field)[\(index)]", "has \(tokens) tokens, more than the model's maximum of \(maxLength), and truncate is \"none\" (send \"end\" or \"start\" to cut it)",
                               status: .contentTooLarge, errorType: "input_too_long")
        } catch TokenizerError.tokenIdOutOfRange(let index, let position, let id, let vocabularySize) {
            throw RequestError(field: "\(field)[\(index)][\(position)]", "token id \(id) is outside the vocabulary 0..<\(vocabularySize)")
        }
    }

    private static func prepared(_ batch: TokenizedBatch, for model: LoadedModel, returnTokens: Bool) -> PreparedInputs {
        let tensors = batch.inputs(for: model)
        let report = TextInputReport(tokenCounts: batch.lengths, untruncatedCounts: batch.untruncatedLengths,
                                     tokens: returnTokens ? batch.tokens : nil)
        return PreparedInputs(tensors: tensors, rows: batch.batchSize, attentionMask: batch.attentionMask, text: report)
    }

    // MARK: - Images

    /// JPEG/PNG images for a vision model, decoded and preprocessed per its configuration.
    static func prepare(images: [[UInt8]], for model: LoadedModel, modelName: String, field: String) throws -> PreparedInputs {
        guard let preprocessing = model.imagePreprocessing, let name = model.architecture.imageInputName,
              let specification = model.inputs.first(where: { $0.name == name }) else {
            throw RequestError(field: field, "model '\(modelName)' takes no images; send its inputs as tensors")
        }
        var pixels: [Tensor] = []
        for (index, data) in images.enumerated() {
            let name = images.count == 1 ? field : "\(field)[\(index)]"
            do {
                pixels.append(try preprocessing(imageData: data))
            } catch let error as ImageError {
                throw RequestError(field: name, error.description, status: error.isTooLarge ? .contentTooLarge : .badRequest)
            }
        }
        let tensor = pixels.count == 1 ? pixels[0] : Tensor.concatenate(pixels, axis: 0)
        do {
            try specification.check(tensor)
        } catch {
            throw RequestError(field: field, "preprocessed to \(tensor.shape), the model expects \(specification.summary)")
        }
        return PreparedInputs(tensors: [specification.name: tensor], rows: images.count, attentionMask: nil)
    }
}

extension ImageError {
    /// Whether the image was refused for its pixel count.
    var isTooLarge: Bool {
        if case .tooLarge = self { return true }
        return false
    }
}
