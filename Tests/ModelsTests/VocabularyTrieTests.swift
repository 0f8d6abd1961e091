import Testing
@testable import Models

@Suite struct VocabularyTrieTests {
    let trie = VocabularyTrie(tokens: ["a", "ab", "abc", "##b", "##bc", "b", "é", "ab"])

    @Test func exactLookups() {
        #expect(trie.id(of: "a") == 0)
        #expect(trie.id(of: "abc") == 2)
        #expect(trie.id(of: "ab") == 7)  // listed twice: the last id wins, as dict assignment does
        #expect(trie.id(of: "abcd") == nil)
        #expect(trie.id(of: "") == nil)
        #expect(trie.id(of: "é") == 6)
        #expect(trie.id(of: "e\u{301}") == nil)
    }

    /// Longest match from the root and from the "##" node, against a scan of every prefix.
    @Test(arguments: ["abcb", "abx", "bcc", "x", "ééa", "ab"])
    func longestMatchAgreesWithPrefixScan(word: String) {
        let bytes = Array(word.utf8)
        let tokens = ["a", "ab", "abc", "##b", "##bc", "b", "é", "ab"]
        for (node, prefix) in [(VocabularyTrie.root, ""), (trie.node(after: "##".utf8)!, "##")] {
            let match = bytes.withUnsafeBufferPointer { trie.longestMatch(in: $0, from: 0, to: $0.count, startingAt: node) }
            // Naive twin: the longest prefix (by bytes, at scalar boundaries) found in the token list.
            var expected: (id: Int32, end: Int)?
            for end in stride(from: bytes.count, through: 1, by: -1) {
                guard let piece = String(validating: bytes[0..<end], as: UTF8.self),
                      let id = tokens.lastIndex(of: prefix + piece) else { continue }
                expected = (Int32(id), end)
                break
            }
            #expect(match?.id == expected?.id && match?.end == expected?.end, "\(prefix)\(word)")
        }
    }
}
