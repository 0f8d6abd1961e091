/// CLIP's normalizer and pre-tokenizer as Hugging Face's `CLIPTokenizer` runs them, with every
/// normalized code point tagged with the original code point it came from (the offsets).
///
/// Normalizer: NFC, then each run of whitespace (Unicode White_Space) → one space, then lowercase
/// (each code point's full lowercase mapping, as `tokenizers`' `Lowercase`). Pre-tokenizer: the
/// matches of `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
/// are the words (the rest, spaces, is dropped); ByteLevel's own GPT-2 split then only separates
/// `<|`, the letters and `|>` of a written special token.
enum CLIPTextNormalization {
    /// A normalized code point and the index of the original code point it came from.
    struct Aligned {
        var scalar: Unicode.Scalar
        var source: Int
    }

    /// Normalizes `scalars[range]`.
    static func normalize(_ scalars: [Unicode.Scalar], range: Range<Int>) -> [Aligned] {
        // NFC per grapheme cluster (composition never crosses one); a composed code point keeps the
        // source of the cluster's first code point, as `tokenizers`' alignments do.
        var composed: [Aligned] = []
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars[range])
        var offset = range.lowerBound
        for cluster in String(text) {
            let original = Array(cluster.unicodeScalars)
            let normalized = Array(String(cluster).precomposedStringWithCanonicalMapping.unicodeScalars)
            for (index, scalar) in normalized.enumerated() {
                composed.append(Aligned(scalar: scalar, source: offset + (normalized == original ? index : min(index, original.count - 1))))
            }
            offset += original.count
        }
        var output: [Aligned] = []
        output.reserveCapacity(composed.count)
        var previousWasSpace = false
        for aligned in composed {
            if aligned.scalar.properties.isWhitespace {
                if !previousWasSpace { output.append(Aligned(scalar: " ", source: aligned.source)) }
                previousWasSpace = true
                continue
            }
            previousWasSpace = false
            if aligned.scalar.properties.changesWhenLowercased {
                for lowered in aligned.scalar.properties.lowercaseMapping.unicodeScalars { output.append(Aligned(scalar: lowered, source: aligned.source)) }
            } else {
                output.append(aligned)
            }
        }
        return output
    }

    private static let contractions: [[Unicode.Scalar]] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }
    private static let specialWords: [[Unicode.Scalar]] = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }

    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: true
        default: false
        }
    }

    /// The words of a normalized text, as ranges of positions in it.
    static func words(_ text: [Aligned]) -> [Range<Int>] {
        let scalars = text.map(\.scalar)
        func matches(_ pattern: [Unicode.Scalar], at index: Int) -> Bool {
            pattern.count <= scalars.count - index && pattern.indices.allSatisfy { pattern[$0] == scalars[index + $0] }
        }
        var words: [Range<Int>] = []
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if let special = specialWords.first(where: { matches($0, at: index) }) {
                // ByteLevel's split: "<|", the letters, "|>".
                words += [index..<(index + 2), (index + 2)..<(index + special.count - 2), (index + special.count - 2)..<(index + special.count)]
                index += special.count
            } else if let contraction = contractions.first(where: { matches($0, at: index) }) {
                words.append(index..<(index + contraction.count))
                index += contraction.count
            } else if isLetter(scalar) {
                var end = index + 1
                while end < scalars.count && isLetter(scalars[end]) { end += 1 }
                words.append(index..<end)
                index = end
            } else if isNumber(scalar) {
                words.append(index..<(index + 1))
                index += 1
            } else if scalar.properties.isWhitespace {
                index += 1
            } else {
                var end = index + 1
                while end < scalars.count && !isLetter(scalars[end]) && !isNumber(scalars[end]) && !scalars[end].properties.isWhitespace { end += 1 }
                words.append(index..<end)
                index = end
            }
        }
        return words
    }
}
