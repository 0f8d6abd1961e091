import Testing
@testable import Models

@Suite struct CodePointSetTests {
    /// The bitmap + binary search agree with a plain scan of the ranges, at every range edge and on a
    /// stride through all of Unicode.
    @Test(arguments: [
        ("removedByCleanup", BertCharacterClasses.removedByCleanup),
        ("cleanupWhitespace", BertCharacterClasses.cleanupWhitespace),
        ("whitespace", BertCharacterClasses.whitespace),
        ("punctuation", BertCharacterClasses.punctuation),
        ("nonspacingMarks", BertCharacterClasses.nonspacingMarks),
    ])
    func agreesWithLinearScan(name: String, ranges: [ClosedRange<UInt32>]) {
        let set = CodePointSet(ranges)
        var probes = Array(stride(from: UInt32(0), through: 0x10FFFF, by: 251))
        for range in ranges {
            probes += [range.lowerBound &- 1, range.lowerBound, range.upperBound, range.upperBound + 1]
        }
        for value in probes where value <= 0x10FFFF {
            #expect(set.contains(value) == ranges.contains { $0.contains(value) }, "\(name): U+\(String(value, radix: 16))")
        }
    }

    @Test func tablesAreSortedAndDisjoint() {
        for ranges in [BertCharacterClasses.removedByCleanup, BertCharacterClasses.cleanupWhitespace, BertCharacterClasses.whitespace,
                       BertCharacterClasses.punctuation, BertCharacterClasses.nonspacingMarks] {
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound < $1.lowerBound })
        }
    }

    /// Spot checks of BERT's definitions, including code points whose Unicode category changed after
    /// the reference's tables (kept as the reference has them).
    @Test func bertDefinitions() {
        let punctuation = CodePointSet(BertCharacterClasses.punctuation)
        for ascii in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars { #expect(punctuation.contains(ascii.value)) }
        for other in "aZ09 \u{A9}\u{2122}".unicodeScalars { #expect(!punctuation.contains(other.value)) }  // © and ™ are So
        #expect(punctuation.contains(0xA7) && punctuation.contains(0xB6))  // § and ¶ are Po
        #expect(punctuation.contains(0x2014))  // — is Pd
        #expect(punctuation.contains(0x166D))  // Po in the reference's tables, So today
        #expect(!punctuation.contains(0x2E50))  // punctuation added in Unicode 13: not in the reference
        let marks = CodePointSet(BertCharacterClasses.nonspacingMarks)
        #expect(marks.contains(0x0301) && marks.contains(0x0323))
        #expect(!marks.contains(0x07FD))  // Mn since Unicode 11: the reference keeps it
        let removed = CodePointSet(BertCharacterClasses.removedByCleanup)
        #expect(removed.contains(0) && removed.contains(0xFFFD) && removed.contains(0x200B) && removed.contains(0xE000))
        #expect(!removed.contains(0x09) && !removed.contains(0x0378))  // tab is whitespace; unassigned is kept
    }
}
