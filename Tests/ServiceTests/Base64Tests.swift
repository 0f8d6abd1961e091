import Foundation
import Testing
import Tensors
@testable import Service

@Suite struct Base64Tests {
    /// Against Foundation's encoder and decoder (the reference twin) for every length 0…300 and
    /// random contents.
    @Test func matchesFoundation() throws {
        var generator = SeededGenerator(seed: 64)
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let encoded = Base64.encode(bytes)
            #expect(encoded == Data(bytes).base64EncodedString(), "length \(length)")
            #expect(try Base64.decode(encoded) == bytes, "length \(length)")
        }
    }

    @Test(arguments: [
        ("QQ", Base64Error.invalidLength(2)),
        ("QQ=", .invalidLength(3)),
        ("QQ==QQ==", .invalidCharacter(offset: 2, byte: UInt8(ascii: "="))),
        ("Q===", .invalidCharacter(offset: 1, byte: UInt8(ascii: "="))),
        ("QR==", .nonzeroTrailingBits(offset: 1)),
        ("QUF=", .nonzeroTrailingBits(offset: 2)),
        ("QU\nF", .invalidCharacter(offset: 2, byte: 0x0A)),
        ("ab-_", .invalidCharacter(offset: 2, byte: UInt8(ascii: "-"))),
        ("AAAAAAAAAAAA AAA", .invalidCharacter(offset: 12, byte: UInt8(ascii: " "))),
        ("=AAA", .invalidCharacter(offset: 0, byte: UInt8(ascii: "="))),
    ])
    func strictDecoding(text: String, expected: Base64Error) {
        #expect(throws: expected) { try Base64.decode(text) }
    }

    @Test func errorsSayWhatIsWrong() {
        #expect(Base64Error.invalidCharacter(offset: 7, byte: 0x0A).description
                == "invalid base64 character 0xA at offset 7 (expected A-Z, a-z, 0-9, '+', '/', or '=' padding at the end)")
        #expect(Base64Error.invalidLength(5).description.contains("not a multiple of 4"))
    }

    @Test func decodesEveryAlphabetCharacter() throws {
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        #expect(try Base64.decode(alphabet) == Array(Data(base64Encoded: alphabet)!))
    }
}
