import Foundation
import Testing
@testable import Service

@Suite struct JSONOutputBufferTests {
    private func text(_ build: (JSONOutputBuffer) -> Void) -> String {
        let buffer = JSONOutputBuffer(capacity: 16)
        build(buffer)
        return String(decoding: buffer.takeBytes(), as: UTF8.self)
    }

    /// Escaped strings read back through Foundation as the original, for every control character,
    /// quotes, backslashes and non-ASCII text.
    @Test func stringsAreEscaped() throws {
        var samples = ["plain", "quote \" and backslash \\", "tab\tline\nreturn\r", "héllo 😀 世界", ""]
        samples.append(String((0..<32).map { Character(Unicode.Scalar($0)!) }))
        for sample in samples {
            let json = text { $0.append(string: sample) }
            let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed]) as? String
            #expect(decoded == sample, "\(json)")
            #expect(try JSONParser.parse(Array(json.utf8)).stringValue == sample)
        }
        #expect(text { $0.append(string: "\u{1}") } == "\"\\u0001\"")
    }

    @Test func numbersAndShapes() {
        #expect(text { $0.append(integers: [1, 3, 224, 224]) } == "[1,3,224,224]")
        #expect(text { $0.append(integers: []) } == "[]")
        #expect(text { $0.append(integer: -42) } == "-42")
        #expect(text { $0.append(float: 0.1) } == "0.1")
        for (value, expected) in [(0.123, "0.123"), (15.3, "15.3"), (1e-5, "1e-5"), (2e16, "2e16"), (100.0, "100.0"), (-0.5, "-0.5")] {
            #expect(text { $0.append(double: value) } == expected)
        }
    }

    /// Growth keeps every byte; takeBytes(upTo:) keeps the rest at the front.
    @Test func growthAndTaking() {
        let buffer = JSONOutputBuffer(capacity: 8)
        var expected: [UInt8] = []
        for index in 0..<10_000 {
            let byte = UInt8(truncatingIfNeeded: index)
            buffer.append(byte)
            expected.append(byte)
        }
        #expect(buffer.capacity >= 10_000)
        #expect(buffer.takeBytes(upTo: 100) == Array(expected[..<100]))
        #expect(buffer.count == 9_900)
        #expect(buffer.takeBytes() == Array(expected[100...]))
        #expect(buffer.count == 0)
    }
}
