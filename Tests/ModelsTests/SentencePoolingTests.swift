import Foundation
import Testing
import Tensors
import TestSupport
@testable import Models

@Suite struct SentencePoolingTests {
    // [2, 3, 2]: the second sequence has one padding token at the end.
    let hidden = Tensor(shape: [2, 3, 2], scalars: [1, 2, 3, 4, 5, 6, -1, 10, 3, -20, 100, 100])
    let mask = Tensor(shape: [2, 3], elements: [Int64(1), 1, 1, 1, 1, 0])

    @Test func meanOverUnmaskedTokens() throws {
        let pooled = try SentencePooling.mean.pool(hidden, attentionMask: mask)
        #expect(pooled.shape == [2, 2])
        #expect(pooled.toArray() == [3, 4, 1, -5])
    }

    @Test func clsTakesTheFirstToken() throws {
        #expect(try SentencePooling.cls.pool(hidden, attentionMask: mask).toArray() == [1, 2, -1, 10])
    }

    @Test func maxIgnoresPadding() throws {
        #expect(try SentencePooling.max.pool(hidden, attentionMask: mask).toArray() == [5, 6, 3, 10])
    }

    /// sentence-transformers' edge cases: an all-padding row gives zeros (mean, the denominator is
    /// clamped to 1e-9) and -1e9 (max).
    @Test func allPaddingRows() throws {
        let zeros = Tensor(shape: [2, 3], elements: [Int64](repeating: 0, count: 6))
        #expect(try SentencePooling.mean.pool(hidden, attentionMask: zeros).toArray() == [0, 0, 0, 0])
        #expect(try SentencePooling.max.pool(hidden, attentionMask: zeros).toArray() == [-1e9, -1e9, -1e9, -1e9])
    }

    @Test func normalizationGivesUnitRows() throws {
        let pooled = try SentencePooling.mean.pool(hidden, attentionMask: mask, normalize: true).toArray()
        #expect(abs(pooled[0] - 0.6) < 1e-6 && abs(pooled[1] - 0.8) < 1e-6)
        #expect(abs(pooled[2] - 1 / Float(26).squareRoot()) < 1e-6 && abs(pooled[3] + 5 / Float(26).squareRoot()) < 1e-6)
        let zero = SentencePooling.l2Normalized(Tensor(zeros: [1, 3]))
        #expect(zero.toArray() == [0, 0, 0])
    }

    @Test func maskMayBeFloatOrBool() throws {
        let floatMask = Tensor(shape: [2, 3], scalars: [1, 1, 1, 1, 1, 0])
        let boolMask = Tensor(shape: [2, 3], elements: [true, true, true, true, true, false])
        let expected = try SentencePooling.mean.pool(hidden, attentionMask: mask).toArray()
        #expect(try SentencePooling.mean.pool(hidden, attentionMask: floatMask).toArray() == expected)
        #expect(try SentencePooling.mean.pool(hidden, attentionMask: boolMask).toArray() == expected)
    }

    @Test func shapeMismatchIsAnError() {
        #expect(throws: PoolingError.shapeMismatch(hiddenStates: [2, 3, 2], attentionMask: [2, 2])) {
            try SentencePooling.mean.pool(hidden, attentionMask: Tensor(zeros: [2, 2]))
        }
        #expect(throws: PoolingError.shapeMismatch(hiddenStates: [6, 2], attentionMask: [6])) {
            try SentencePooling.mean.pool(Tensor(zeros: [6, 2]), attentionMask: Tensor(zeros: [6]))
        }
    }

    /// all-MiniLM-L6-v2's last_hidden_state → sentence_embedding (mean pooling + L2 normalization).
    @Test func matchesSentenceTransformersOnMiniLM() throws {
        let expected = try SafetensorsTestReader(contentsOf: Fixtures.url("minilm/expected.safetensors"))
        let embeddings = try SentencePooling.mean.pool(expected.tensor("last_hidden_state"),
                                                       attentionMask: expected.tensor("attention_mask"), normalize: true)
        let reference = try expected.tensor("sentence_embedding")
        #expect(embeddings.shape == reference.shape)
        let a = embeddings.toArray(), b = reference.toArray()
        let hidden = reference.shape[1]
        for row in 0..<reference.shape[0] {
            let x = a[(row * hidden)..<((row + 1) * hidden)], y = b[(row * hidden)..<((row + 1) * hidden)]
            let dot = zip(x, y).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            let cosine = dot / (x.reduce(0) { $0 + Double($1 * $1) }.squareRoot() * y.reduce(0) { $0 + Double($1 * $1) }.squareRoot())
            #expect(cosine >= 0.99999, "row \(row): cosine \(cosine)")
        }
        let gap = try #require(difference(embeddings, reference))
        #expect(gap.maxAbsoluteError <= 1e-6, "\(gap)")
    }
}
