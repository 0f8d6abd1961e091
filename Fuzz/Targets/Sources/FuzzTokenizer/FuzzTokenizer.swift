// Fuzz target: `WordPieceTokenizer` (Sources/Models) with the real BERT vocabulary
// (Tests/Fixtures/bert_tiny: vocab.txt and tokenizer_config.json, 30522 tokens).
//
// Input layout: byte 0 picks `max_length` (low 6 bits: 0–63, so truncation and the too-small
// error are both reached) and the normalizer variant (high 2 bits: uncased as in the fixture,
// cased, cased with accent stripping and without CJK splitting), the rest is text. Texts arrive over HTTP as JSON strings, which the service decodes
// like `String(decoding:as:)`: invalid UTF-8 becomes U+FFFD. A 0x00 byte (if any) splits the text
// into a pair. Findings: memory errors, traps, and broken contracts:
// - every id is in the vocabulary and `tokenize` is `tokenIds` mapped through it;
// - tokenizing is deterministic, and there are no more tokens than scalars in the normalized
//   text (every token covers at least one);
// - an encoded batch is `[CLS] … [SEP]` (pairs: `[CLS] a [SEP] b [SEP]`) with at most max_length
//   tokens, mask 1 on tokens and 0 on padding, type ids 0 then 1.
import Foundation
import FuzzDriver
import Models
import Tensors

/// The fixture directory: `PERISCOPE_FUZZ_TOKENIZER_DIR`, else the repository's bert_tiny fixture.
let tokenizerDirectory: URL = {
    if let path = ProcessInfo.processInfo.environment["PERISCOPE_FUZZ_TOKENIZER_DIR"] { return URL(fileURLWithPath: path) }
    // Fuzz/Targets/Sources/FuzzTokenizer/FuzzTokenizer.swift → repository root.
    var root = URL(fileURLWithPath: #filePath)
    for _ in 0..<5 { root.deleteLastPathComponent() }
    return root.appendingPathComponent("Tests/Fixtures/bert_tiny")
}()

/// The fixture's uncased tokenizer, and variants over the same vocabulary for the other
/// normalizer paths: cased (no lowercasing, so no accent stripping either) and cased with accent
/// stripping but no CJK splitting, with a never_split entry.
let tokenizers: [WordPieceTokenizer] = {
    do {
        let vocabulary = try WordPieceTokenizer.readVocabulary(tokenizerDirectory.appendingPathComponent("vocab.txt"))
        return [
            try WordPieceTokenizer(directory: tokenizerDirectory),
            try WordPieceTokenizer(vocabulary: vocabulary, configuration: .init(lowercase: false)),
            try WordPieceTokenizer(vocabulary: vocabulary, configuration: .init(lowercase: false, stripAccents: true,
                                                                              splitChineseCharacters: false, neverSplit: ["[unused1]", "don't"])),
        ]
    } catch {
        fatalError("cannot load the tokenizer from \(tokenizerDirectory.path): \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let maxLength = count > 0 ? Int(input[0] & 63) : 8
    let tokenizer = tokenizers[count > 0 ? Int(input[0] >> 6) % tokenizers.count : 0]
    let textBytes = count > 1 ? UnsafeRawBufferPointer(rebasing: input[1...]) : UnsafeRawBufferPointer(start: nil, count: 0)
    let separator = textBytes.firstIndex(of: 0)
    let text = String(decoding: UnsafeRawBufferPointer(rebasing: textBytes[..<(separator ?? textBytes.endIndex)]), as: UTF8.self)
    let pair = separator.map { String(decoding: UnsafeRawBufferPointer(rebasing: textBytes[($0 + 1)...]), as: UTF8.self) }

    // Token ids and tokens.
    let ids = tokenizer.tokenIds(text)
    let vocabularySize = tokenizer.vocabulary.count
    if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabularySize }) { invariantFailure("id \(bad) outside the vocabulary") }
    guard tokenizer.tokenize(text) == ids.map({ tokenizer.vocabulary[Int($0)] }) else { invariantFailure("tokenize disagrees with tokenIds") }
    guard tokenizer.tokenIds(text) == ids else { invariantFailure("tokenizing is not deterministic") }
    // Each token covers at least one scalar of the normalized text (lowercased when uncased, NFD
    // when accents are stripped: a Hangul syllable becomes two or three jamo, each its own token).
    let normalizedScalars = max(text.lowercased().decomposedStringWithCanonicalMapping.unicodeScalars.count,
                                text.decomposedStringWithCanonicalMapping.unicodeScalars.count)
    guard ids.count <= max(normalizedScalars, text.unicodeScalars.count) else {
        invariantFailure("\(ids.count) tokens from \(normalizedScalars) normalized scalars")
    }

    // A batch of one, with and without a pair, padded to max_length.
    let pairs = pair.map { [$0] }
    let batch: TokenizedBatch
    do {
        batch = try tokenizer([text], pairs: pairs, maxLength: maxLength, padding: .maxLength)
    } catch let error as TokenizerError {
        let minimum = pair == nil ? 2 : 3
        guard maxLength < minimum else { invariantFailure("encoding failed with max_length \(maxLength): \(error)") }
        return 0
    } catch {
        invariantFailure("error outside TokenizerError: \(error)")
    }
    guard batch.inputIds.shape == [1, maxLength], batch.attentionMask.shape == [1, maxLength],
          batch.tokenTypeIds.shape == [1, maxLength], batch.tokens.count == 1 else {
        invariantFailure("batch shapes \(batch.inputIds.shape) \(batch.attentionMask.shape) \(batch.tokenTypeIds.shape)")
    }
    let encoded = batch.inputIds.toInt64Array(), mask = batch.attentionMask.toInt64Array(), types = batch.tokenTypeIds.toInt64Array()
    let tokens = batch.tokens[0]
    let length = tokens.count
    guard length <= maxLength, length >= (pair == nil ? 2 : 3) else { invariantFailure("\(length) tokens for max_length \(maxLength)") }
    guard encoded[0] == Int64(tokenizer.classifierTokenId), encoded[length - 1] == Int64(tokenizer.separatorTokenId) else {
        invariantFailure("sequence not framed by [CLS] … [SEP]: \(tokens)")
    }
    for position in 0..<maxLength {
        let isToken = position < length
        guard mask[position] == (isToken ? 1 : 0) else { invariantFailure("mask \(mask) for \(length) tokens") }
        if isToken {
            guard tokenizer.vocabulary[Int(encoded[position])] == tokens[position] else { invariantFailure("tokens disagree with ids") }
        } else {
            guard encoded[position] == Int64(tokenizer.paddingTokenId), types[position] == 0 else { invariantFailure("padding \(encoded)") }
        }
    }
    if pair == nil {
        guard types.allSatisfy({ $0 == 0 }) else { invariantFailure("type ids \(types) for a single text") }
        guard Array(encoded[1..<(length - 1)]) == ids.prefix(length - 2).map(Int64.init) else {
            invariantFailure("encoded sequence is not the truncated token ids")
        }
    } else {
        guard let firstSeparator = encoded[1..<length].firstIndex(of: Int64(tokenizer.separatorTokenId)) else {
            invariantFailure("pair without a middle [SEP]")
        }
        _ = firstSeparator
        let firstPairType = types[0..<length].firstIndex(of: 1) ?? length
        guard types[0..<firstPairType].allSatisfy({ $0 == 0 }), types[firstPairType..<length].allSatisfy({ $0 == 1 }) else {
            invariantFailure("pair type ids \(types)")
        }
    }
    return 0
}
