import Foundation

/// BERT's text normalization and pre-tokenization: Hugging Face's `BertNormalizer` followed by its
/// `BertPreTokenizer` (the `tokenizers` pipeline behind transformers' `BertTokenizer`), in that order:
///
/// 1. Cleanup: NUL, U+FFFD and control, format, private-use and surrogate code points are dropped;
///    whitespace becomes a space.
/// 2. Chinese characters (BERT's CJK ideograph ranges) get a space on each side.
/// 3. Accent stripping, when enabled: canonical decomposition (NFD), then nonspacing marks (Mn) dropped.
/// 4. Lowercasing, when enabled: each code point's full lowercase mapping, without context (a final
///    capital sigma becomes σ, not ς; that is where the Rust pipeline differs from Python's `str.lower`).
/// 5. Pre-tokenization: words split at whitespace; every punctuation character (ASCII 33–47, 58–64,
///    91–96, 123–126 and the Unicode P* categories) becomes a word of its own.
///
/// Everything works on Unicode scalars (code points), as Python's `str` and Rust's `char` do, never on
/// Swift `Character`s (grapheme clusters): an emoji with a skin-tone modifier is two code points, "é"
/// typed as e + U+0301 is two. The character classes come from `BertCharacterClasses`, which is probed
/// from the reference implementation.
public struct BasicTokenizer: Sendable {
    /// Lowercase the text (`do_lower_case`).
    public var lowercase: Bool
    /// Remove accents (`strip_accents`; by default the same as `lowercase`, as in the original BERT).
    public var stripAccents: Bool
    /// Surround CJK ideographs with spaces (`tokenize_chinese_chars`).
    public var splitChineseCharacters: Bool

    public init(lowercase: Bool = true, stripAccents: Bool? = nil, splitChineseCharacters: Bool = true) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents ?? lowercase
        self.splitChineseCharacters = splitChineseCharacters
    }

    /// The words of `text` after normalization and pre-tokenization.
    public func words(_ text: String) -> [String] {
        var buffer = WordBuffer()
        var text = text
        text.withUTF8 { appendWords(of: $0, to: &buffer) }
        return (0..<buffer.count).map { buffer.string(at: $0) }
    }

    // MARK: - Character classes

    private enum ASCIIClass: UInt8 {
        case removed, space, punctuation, word
    }

    static let removed = CodePointSet(BertCharacterClasses.removedByCleanup)
    static let cleanupWhitespace = CodePointSet(BertCharacterClasses.cleanupWhitespace)
    static let whitespace = CodePointSet(BertCharacterClasses.whitespace)
    static let punctuation = CodePointSet(BertCharacterClasses.punctuation)
    static let nonspacingMarks = CodePointSet(BertCharacterClasses.nonspacingMarks)

    /// The class of each ASCII byte, from the same tables.
    private static let asciiClasses: [ASCIIClass] = (0..<128).map { value in
        let value = UInt32(value)
        if removed.contains(value) { return .removed }
        if value == 0x20 || cleanupWhitespace.contains(value) { return .space }
        if punctuation.contains(value) { return .punctuation }
        return .word
    }

    /// BERT's "Chinese character" ranges (CJK Unified Ideographs and extensions, compatibility ideographs),
    /// as the Rust normalizer spells them.
    @inline(__always)
    static func isChineseCharacter(_ value: UInt32) -> Bool {
        switch value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    // MARK: - Pipeline

    /// Normalizes and pre-tokenizes the UTF-8 `text` (valid UTF-8, as every Swift string is),
    /// appending its words to `words`.
    func appendWords(of text: UnsafeBufferPointer<UInt8>, to words: inout WordBuffer) {
        // Non-ASCII code points waiting for NFD (accent stripping only). NFD never reorders across an
        // ASCII character (a starter that decomposes to itself), so runs between them can be decomposed
        // on their own.
        var pending = String.UnicodeScalarView()
        let classes = Self.asciiClasses
        var index = 0
        while index < text.count {
            let lead = text[index]
            if lead < 0x80 {
                index += 1
                if !pending.isEmpty { flush(&pending, to: &words) }
                switch classes[Int(lead)] {
                case .removed:
                    break
                case .space:
                    words.finishWord()
                case .punctuation:
                    words.finishWord()
                    words.appendASCII(lead)
                    words.finishWord()
                case .word:
                    words.appendASCII(lowercase && lead >= 0x41 && lead <= 0x5A ? lead | 0x20 : lead)
                }
                continue
            }
            let (value, length) = Self.decodeScalar(text, at: index)
            index += length
            if Self.removed.contains(value) { continue }
            if Self.cleanupWhitespace.contains(value) {
                if !pending.isEmpty { flush(&pending, to: &words) }
                words.finishWord()
                continue
            }
            let scalar = Unicode.Scalar(value)!
            if splitChineseCharacters && Self.isChineseCharacter(value) {
                if !pending.isEmpty { flush(&pending, to: &words) }
                words.finishWord()
                if stripAccents {
                    pending.append(scalar)
                    flush(&pending, to: &words)
                } else {
                    emitLowercased(scalar, to: &words)
                }
                words.finishWord()
                continue
            }
            if stripAccents {
                pending.append(scalar)
            } else {
                emitLowercased(scalar, to: &words)
            }
        }
        if !pending.isEmpty { flush(&pending, to: &words) }
        words.finishWord()
    }

    /// NFD of the pending run, nonspacing marks dropped, then lowercasing and pre-tokenization.
    private func flush(_ pending: inout String.UnicodeScalarView, to words: inout WordBuffer) {
        let decomposed = String(pending).decomposedStringWithCanonicalMapping
        for scalar in decomposed.unicodeScalars where !Self.nonspacingMarks.contains(scalar.value) {
            emitLowercased(scalar, to: &words)
        }
        pending.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private func emitLowercased(_ scalar: Unicode.Scalar, to words: inout WordBuffer) {
        if lowercase && scalar.properties.changesWhenLowercased {
            for lowered in scalar.properties.lowercaseMapping.unicodeScalars { emit(lowered, to: &words) }
        } else {
            emit(scalar, to: &words)
        }
    }

    /// Pre-tokenization of one normalized code point.
    @inline(__always)
    private func emit(_ scalar: Unicode.Scalar, to words: inout WordBuffer) {
        let value = scalar.value
        let isSpace: Bool, isPunctuation: Bool
        if value < 0x80 {
            let kind = Self.asciiClasses[Int(value)]
            isSpace = kind == .space
            isPunctuation = kind == .punctuation
        } else {
            isSpace = Self.whitespace.contains(value)
            isPunctuation = !isSpace && Self.punctuation.contains(value)
        }
        if isSpace {
            words.finishWord()
        } else if isPunctuation {
            words.finishWord()
            words.append(scalar)
            words.finishWord()
        } else {
            words.append(scalar)
        }
    }

    /// The code point of the multi-byte UTF-8 sequence starting at `index`, and its length.
    @inline(__always)
    private static func decodeScalar(_ text: UnsafeBufferPointer<UInt8>, at index: Int) -> (UInt32, Int) {
        let lead = UInt32(text[index])
        if lead < 0xE0 {
            return ((lead & 0x1F) << 6 | UInt32(text[index + 1]) & 0x3F, 2)
        }
        if lead < 0xF0 {
            return ((lead & 0x0F) << 12 | (UInt32(text[index + 1]) & 0x3F) << 6 | UInt32(text[index + 2]) & 0x3F, 3)
        }
        return ((lead & 0x07) << 18 | (UInt32(text[index + 1]) & 0x3F) << 12 | (UInt32(text[index + 2]) & 0x3F) << 6
                    | UInt32(text[index + 3]) & 0x3F, 4)
    }
}
