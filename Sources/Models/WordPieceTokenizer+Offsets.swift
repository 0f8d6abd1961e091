// Mirrors the offset tracking of Hugging Face `tokenizers` (NormalizedString alignments) for the
// BERT pipeline: every normalized code point remembers the original code point it came from.

extension WordPieceTokenizer {
    /// The tokens of `text` with their offsets into it, without special tokens or truncation: the
    /// same ids as `tokenIds(text)`, each with the span of original code points it covers. A special
    /// token written in the text stays whole but is not flagged `special` (Hugging Face's
    /// `special_tokens_mask` marks only the tokens the template adds).
    ///
    /// Normalization runs code point by code point (cleanup, CJK spacing, NFD + accent stripping,
    /// lowercasing), each output code point tagged with its source; pre-tokenization and WordPiece
    /// then work on the tagged code points, so a piece's span runs from its first code point's
    /// source to its last one's. A word that becomes [UNK] spans the whole word.
    public func tokenSpans(_ text: String) -> [TokenSpan] {
        let scalars = Array(text.unicodeScalars)
        let unsplittable: [(scalars: [Unicode.Scalar], id: Int32)] = unsplittableTokens.map { token in
            (Array(String(decoding: token.bytes, as: UTF8.self).unicodeScalars), token.id)
        }
        var spans: [TokenSpan] = []
        var segmentStart = 0
        var index = 0
        while index < scalars.count {
            let match = unsplittable.first { token in
                token.scalars.count <= scalars.count - index
                    && token.scalars.indices.allSatisfy { token.scalars[$0] == scalars[index + $0] }
            }
            guard let match else {
                index += 1
                continue
            }
            appendSpans(of: scalars, range: segmentStart..<index, to: &spans)
            spans.append(TokenSpan(id: Int(match.id), token: vocabulary[Int(match.id)], start: index,
                                   end: index + match.scalars.count, special: false))
            index += match.scalars.count
            segmentStart = index
        }
        appendSpans(of: scalars, range: segmentStart..<scalars.count, to: &spans)
        return spans
    }

    /// `tokenSpans(text)` wrapped in [CLS]/[SEP] and truncated to `maxLength` per `truncation`
    /// (exactly the ids the model sees for `text`), with the untruncated token count.
    public func encodedSpans(_ text: String, maxLength: Int? = nil, truncation: TruncationMode = .end) throws
        -> (spans: [TokenSpan], untruncatedLength: Int) {
        let limit = maxLength ?? configuration.modelMaxLength
        guard limit >= 2 else { throw TokenizerError.maxLengthTooSmall(maxLength: limit, minimum: 2) }
        let spans = tokenSpans(text)
        let untruncated = spans.count + 2
        if truncation == .none && untruncated > limit {
            throw TokenizerError.sequenceTooLong(index: 0, tokens: untruncated, maxLength: limit)
        }
        let kept = truncation == .start ? Array(spans.suffix(limit - 2)) : Array(spans.prefix(limit - 2))
        let first = TokenSpan(id: Int(classifierTokenId), token: vocabulary[Int(classifierTokenId)], start: 0, end: 0, special: true)
        let last = TokenSpan(id: Int(separatorTokenId), token: vocabulary[Int(separatorTokenId)], start: 0, end: 0, special: true)
        return ([first] + kept + [last], untruncated)
    }

    // MARK: - Normalization with alignments

    /// A normalized code point and the index of the original code point it came from.
    private struct Aligned {
        var scalar: Unicode.Scalar
        var source: Int
    }

    private func appendSpans(of scalars: [Unicode.Scalar], range: Range<Int>, to spans: inout [TokenSpan]) {
        guard !range.isEmpty else { return }
        var word: [Aligned] = []
        func finishWord() {
            if !word.isEmpty { appendWordPieces(word, to: &spans) }
            word.removeAll(keepingCapacity: true)
        }
        for aligned in normalized(scalars, range: range) {
            let value = aligned.scalar.value
            let isSpace = value == 0x20 || (value < 0x80 ? BasicTokenizer.cleanupWhitespace.contains(value) : BasicTokenizer.whitespace.contains(value))
            if isSpace {
                finishWord()
            } else if BasicTokenizer.punctuation.contains(value) {
                finishWord()
                word.append(aligned)
                finishWord()
            } else {
                word.append(aligned)
            }
        }
        finishWord()
    }

    /// `BertNormalizer` over `scalars[range]`, each output code point tagged with its source.
    private func normalized(_ scalars: [Unicode.Scalar], range: Range<Int>) -> [Aligned] {
        let options = basicTokenizer
        var output: [Aligned] = []
        output.reserveCapacity(range.count)
        func emit(_ scalar: Unicode.Scalar, from source: Int) {
            var pieces: [Unicode.Scalar] = [scalar]
            if options.stripAccents && scalar.value >= 0x80 {
                pieces = String(scalar).decomposedStringWithCanonicalMapping.unicodeScalars
                    .filter { !BasicTokenizer.nonspacingMarks.contains($0.value) }
            }
            for piece in pieces {
                if options.lowercase && piece.properties.changesWhenLowercased {
                    for lowered in piece.properties.lowercaseMapping.unicodeScalars { output.append(Aligned(scalar: lowered, source: source)) }
                } else {
                    output.append(Aligned(scalar: piece, source: source))
                }
            }
        }
        for index in range {
            let scalar = scalars[index]
            let value = scalar.value
            if BasicTokenizer.removed.contains(value) { continue }
            if value == 0x20 || BasicTokenizer.cleanupWhitespace.contains(value) {
                output.append(Aligned(scalar: " ", source: index))
            } else if options.splitChineseCharacters && BasicTokenizer.isChineseCharacter(value) {
                output.append(Aligned(scalar: " ", source: index))
                emit(scalar, from: index)
                output.append(Aligned(scalar: " ", source: index))
            } else {
                emit(scalar, from: index)
            }
        }
        return output
    }

    /// Greedy longest-match-first WordPiece over one word's aligned code points.
    private func appendWordPieces(_ word: [Aligned], to spans: inout [TokenSpan]) {
        let wordStart = word.first!.source, wordEnd = word.last!.source + 1
        let unknown = TokenSpan(id: Int(unknownTokenId), token: vocabulary[Int(unknownTokenId)], start: wordStart, end: wordEnd, special: false)
        if word.count > configuration.maxInputCharactersPerWord {
            spans.append(unknown)
            return
        }
        // UTF-8 bytes of the word, and for each byte offset (and the end) the code point it starts.
        var bytes: [UInt8] = []
        var scalarAt: [Int] = []
        for (position, aligned) in word.enumerated() {
            UTF8.encode(aligned.scalar) { byte in
                bytes.append(byte)
                scalarAt.append(position)
            }
        }
        scalarAt.append(word.count)
        var pieces: [TokenSpan] = []
        let matched: Bool = bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            while start < buffer.count {
                let node = start == 0 ? VocabularyTrie.root : continuationNode
                guard let node, let match = trie.longestMatch(in: buffer, from: start, to: buffer.count, startingAt: node) else { return false }
                let first = word[scalarAt[start]].source, last = word[scalarAt[match.end] - 1].source
                pieces.append(TokenSpan(id: Int(match.id), token: vocabulary[Int(match.id)], start: first, end: last + 1, special: false))
                start = match.end
            }
            return true
        }
        if matched { spans.append(contentsOf: pieces) } else { spans.append(unknown) }
    }
}
