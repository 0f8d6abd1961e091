import Testing
@testable import Models

@Suite struct BasicTokenizerTests {
    @Test(arguments: [
        ("Hello, World!", ["hello", ",", "world", "!"]),
        ("  spaces\tand\nnewlines\r\n", ["spaces", "and", "newlines"]),
        ("naïve café RÉSUMÉ", ["naive", "cafe", "resume"]),
        // Decomposed input: the combining marks are nonspacing marks, stripped after NFD.
        ("cafe\u{301} A\u{30A}", ["cafe", "a"]),
        // Lowercasing is per code point: final sigma stays σ (Rust), unlike Python's str.lower.
        ("ΟΔΟΣ", ["οδοσ"]),
        // İ: NFD gives I + U+0307 (stripped), then "i".
        ("İstanbul", ["istanbul"]),
        ("ﬁne", ["ﬁne"]),
        ("中文abc日本", ["中", "文", "abc", "日", "本"]),
        ("a\u{0}b\u{FFFD}c\u{200B}d\u{AD}e", ["abcde"]),
        ("x\u{3000}y\u{A0}z\u{2028}w", ["x", "y", "z", "w"]),
        ("«a»—b…c", ["«", "a", "»", "—", "b", "…", "c"]),
        // An emoji with a skin-tone modifier is one grapheme but two code points; neither is
        // punctuation or whitespace, so they stay one word.
        ("👍🏽ok", ["👍🏽ok"]),
        ("$3.50", ["$", "3", ".", "50"]),
        ("", []),
        (" \t ", []),
    ])
    func uncasedWords(text: String, expected: [String]) {
        #expect(BasicTokenizer().words(text) == expected)
    }

    @Test func casedKeepsCaseAndAccents() {
        let tokenizer = BasicTokenizer(lowercase: false)
        #expect(tokenizer.stripAccents == false)
        #expect(tokenizer.words("Café NAÏVE e\u{301}") == ["Café", "NAÏVE", "e\u{301}"])
    }

    @Test func accentsCanBeStrippedWithoutLowercasing() {
        #expect(BasicTokenizer(lowercase: false, stripAccents: true).words("Café NAÏVE") == ["Cafe", "NAIVE"])
        #expect(BasicTokenizer(lowercase: true, stripAccents: false).words("Café NAÏVE") == ["café", "naïve"])
    }

    @Test func chineseSplittingCanBeSwitchedOff() {
        #expect(BasicTokenizer(splitChineseCharacters: false).words("中文abc") == ["中文abc"])
    }

    /// NFD reorders combining marks by combining class: both spellings strip to the same letters,
    /// and with stripping off the decomposed order is kept as written (no NFC in the Rust pipeline).
    @Test func combiningSequences() {
        #expect(BasicTokenizer().words("a\u{323}\u{302} a\u{302}\u{323} \u{1EAD}") == ["a", "a", "a"])
        #expect(BasicTokenizer(lowercase: false).words("a\u{302}\u{323}") == ["a\u{302}\u{323}"])
    }

    /// Hangul syllables decompose into jamo under NFD (and jamo are letters, not marks).
    @Test func hangulDecomposesUnderAccentStripping() {
        let words = BasicTokenizer().words("한국")
        #expect(words == ["\u{1112}\u{1161}\u{11AB}\u{1100}\u{116E}\u{11A8}"])
        #expect(BasicTokenizer(lowercase: false).words("한국") == ["한국"])
    }
}
