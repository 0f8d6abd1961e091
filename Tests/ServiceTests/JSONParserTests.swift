import Foundation
import Testing
import Tensors
@testable import Service

@Suite struct JSONParserTests {
    private func parse(_ text: String, limits: JSONParserLimits = JSONParserLimits()) throws(JSONParseError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8), limits: limits)
    }

    // MARK: - Valid documents

    @Test func objectsStringsLiteralsAndOrder() throws {
        let value = try parse(#" { "b" : [true, false, null], "a": {"x": "y\n\u00e9\ud83d\ude00"}, "n": -12.5e+2 } "#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["b", "a", "n"])
        #expect(object["a"]?.objectValue?["x"]?.stringValue == "y\né😀")
        #expect(object["n"]?.numberValue?.doubleValue == -1250)
        #expect(object["n"]?.numberValue?.text == "-12.5e+2")
        guard case .array(let literals) = object["b"] else { Issue.record("b is not a generic array"); return }
        #expect(literals.count == 3 && literals[0].boolValue == true && literals[2].isNull)
    }

    @Test func regularNumericArraysTakeTheFastPath() throws {
        let value = try parse("[[[1, 2.5], [3, -4]], [[5e-1, 6], [7, 8]]]")
        guard case .numbers(let numbers) = value else { Issue.record("not numbers: \(value)"); return }
        #expect(numbers.shape == [2, 2, 2])
        #expect(try numbers.floats() == [1, 2.5, 3, -4, 0.5, 6, 7, 8])
        #expect(!numbers.allIntegerLiterals)
        let integers = try parse("[0, -0, 9223372036854775807, -9223372036854775808]")
        #expect(try integers.numericArray?.int64s() == [0, 0, .max, .min])
    }

    @Test(arguments: [
        ("[]", [0]), ("[[]]", [1, 0]), ("[[], []]", [2, 0]), ("[1]", [1]), ("[[1],[2],[3]]", [3, 1]),
    ])
    func numericShapes(text: String, shape: [Int]) throws {
        #expect(try parse(text).numericArray?.shape == shape)
    }

    @Test(arguments: ["[[1, 2], [3]]", "[1, [2]]", "[[1], 2]", "[[[1]], [2]]", "[[], [1]]", "[1, \"a\"]", "[[1, null]]"])
    func irregularArraysAreGeneric(text: String) throws {
        let value = try parse(text)
        guard case .array = value else { Issue.record("\(text) took the numeric path"); return }
        #expect(value.numericArray == nil)
        #expect(value.numericArrayProblem != "no problem")
    }

    @Test func genericArraysOfNumbersConvert() throws {
        // Built from generic values (as a client's mixed formatting can produce).
        let numbers = try JSONNumberArray(elements: [.numbers(try parse("[1, 2]").numericArray!), .array([.number(JSONNumber(decimal: JSONDecimal(mantissa: 3, exponent: 0, negative: false), text: "3")), .number(JSONNumber(decimal: JSONDecimal(mantissa: 4, exponent: 0, negative: true), text: "-4"))])])
        #expect(numbers.shape == [2, 2])
        #expect(try numbers.floats() == [1, 2, 3, -4])
    }

    @Test func numericTensorsForEveryDType() throws {
        let numbers = try #require(try parse("[[1, 0], [255, 1]]").numericArray)
        for dtype in DType.allCases where dtype != .bool {
            let tensor = try numbers.tensor(dtype: dtype)
            #expect(tensor.shape == [2, 2] && tensor.dtype == dtype)
            #expect(tensor.toArray() == [1, 0, 255, 1])
        }
        #expect(throws: JSONNumberError.outOfRange(index: 2, literal: "255", type: "bool (0 or 1)")) { try numbers.tensor(dtype: .bool) }
        let fractions = try #require(try parse("[1.5, 2]").numericArray)
        #expect(throws: JSONNumberError.notInteger(index: 0, literal: "15e-1")) { try fractions.int64s() }
        #expect(try parse("[2.0, 1e2, 30e-1]").numericArray?.int64s() == [2, 100, 3])
        #expect(throws: JSONNumberError.outOfRange(index: 0, literal: "1e39", type: "float32")) { try parse("[1e39]").numericArray?.floats() }
        #expect(throws: JSONNumberError.outOfRange(index: 0, literal: "9223372036854775808", type: "int64")) { try parse("[9223372036854775808]").numericArray?.int64s() }
    }

    // MARK: - Float conversion

    /// Decimal → float32 against the C library's correctly rounded `strtof` (the naive twin):
    /// shortest and 17-digit forms of random floats, random decimals of 1–25 digits across the
    /// whole exponent range, and decimals next to the midpoints between adjacent floats.
    @Test func floatConversionMatchesStrtof() throws {
        var generator = SeededGenerator(seed: 99)
        var literals: [String] = []
        for _ in 0..<40_000 {
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()) & 0x7FFF_FFFF)
            guard value.isFinite else { continue }
            literals.append(value.description)
            literals.append(String(format: "%.17g", Double(value)))
            // The exact midpoint to the next float, and one unit either side in its 25th digit.
            let next = value.nextUp
            guard next.isFinite else { continue }
            let midpoint = (Double(value) + Double(next)) / 2
            literals.append(String(format: "%.40e", midpoint))
            literals.append(String(format: "%.24e", midpoint))
            literals.append(String(format: "%.24e", midpoint.nextUp))
            literals.append(String(format: "%.24e", midpoint.nextDown))
        }
        for _ in 0..<40_000 {
            let digits = Int(generator.next() % 25) + 1
            var text = (generator.next() % 2 == 0 ? "-" : "") + String(generator.next() % 9 + 1)
            for _ in 1..<digits { text += String(generator.next() % 10) }
            let exponent = Int(generator.next() % 100) - 60
            literals.append(text + "e" + String(exponent))
            if digits > 2 { literals.append(String(text.prefix(2)) + "." + text.dropFirst(2) + "e" + String(exponent)) }
        }
        literals += ["0", "-0", "1e-46", "7e-46", "1.4e-45", "3.4028235e38", "3.4028236e38", "3.40282357e38", "1.17549435e-38",
                     "0.000000000000000000000000000000000000000000001401298464324817070923729583289916131280",
                     "123456789012345678901234567890", "1" + String(repeating: "0", count: 39)]
        var mismatches: [String] = []
        let document = "[" + literals.joined(separator: ",") + "]"
        let numbers = try #require(try parse(document).numericArray)
        #expect(numbers.count == literals.count)
        for (index, literal) in literals.enumerated() {
            let expected = strtof(literal, nil)
            let decimal = numbers.decimals[index]
            let actual = decimal.floatValue { numbers.literal(at: index) }
            if expected.isFinite {
                if actual?.bitPattern != expected.bitPattern { mismatches.append("\(literal): \(String(describing: actual)) vs \(expected)") }
            } else if actual != nil {
                mismatches.append("\(literal): \(String(describing: actual)) should be out of range")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    @Test func eiselLemireAgreesWithStrtofWhenItDecides() {
        var generator = SeededGenerator(seed: 5)
        var decided = 0
        for _ in 0..<200_000 {
            let mantissa = generator.next() >> (generator.next() % 64)
            let exponent = Int(generator.next() % 90) - 55
            guard let fast = eiselLemireFloat32(mantissa: mantissa, exponent: exponent, negative: false) else { continue }
            decided += 1
            let reference = strtof("\(mantissa)e\(exponent)", nil)
            if fast.bitPattern != reference.bitPattern {
                Issue.record("\(mantissa)e\(exponent): \(fast) vs \(reference)")
                return
            }
        }
        #expect(decided > 150_000)
    }

    @Test(arguments: [("12", Int64(12)), ("-0", 0), ("1e3", 1000), ("1.000", 1), ("-9223372036854775808", .min)])
    func integerValues(text: String, expected: Int64) throws {
        #expect(try parse(text).numberValue?.int64Value == expected)
    }

    @Test(arguments: ["1.5", "1e19", "9223372036854775808", "1e-1", "12345678901234567890123"])
    func nonIntegers(text: String) throws {
        #expect(try parse(text).numberValue?.int64Value == nil)
    }

    // MARK: - Malformed documents

    /// Every entry: the error's offset and a fragment of its message. None may crash.
    @Test(arguments: [
        ("", 0, "ends where a JSON value"),
        ("   ", 3, "ends where a value"),
        ("{", 1, "a string key"),
        ("{\"a\"", 4, "':' after the key"),
        ("{\"a\" 1}", 5, "expected ':' after the key, found '1'"),
        ("{\"a\":}", 5, "expected a value"),
        ("{\"a\":1,}", 7, "expected a string key, found '}'"),
        ("{\"a\":1 \"b\":2}", 7, "expected ',' or '}' after an object member"),
        ("{\"a\":1,\"a\":2}", 7, "duplicate key \"a\""),
        ("{1:2}", 1, "expected a string key or '}'"),
        ("[1,2", 4, "ends where ',' or ']'"),
        ("[1,,2]", 3, "expected a value"),
        ("[1 2]", 3, "expected ',' or ']' after an array element, found '2'"),
        ("[01]", 2, "leading zeros"),
        ("[1.]", 3, "digit after the decimal point"),
        ("[.5]", 1, "expected a value"),
        ("[+1]", 1, "expected a value"),
        ("[1e]", 3, "digit in the exponent"),
        ("[-]", 2, "expected a digit, found ']'"),
        ("-", 1, "a digit after '-'"),
        ("[NaN]", 1, "expected a value"),
        ("[Infinity]", 1, "expected a value"),
        ("tru", 3, "'true'"),
        ("nul", 3, "'null'"),
        ("falsy", 4, "expected 'false', found 'y'"),
        ("\"abc", 4, "closing '\"'"),
        ("\"a\tb\"", 2, "control character 0x9 must be escaped"),
        ("\"\\x\"", 1, "invalid escape"),
        ("\"\\u12G4\"", 5, "four hex digits"),
        ("\"\\ud800\"", 1, "unpaired surrogate"),
        ("\"\\udc00\"", 1, "unpaired surrogate"),
        ("\"\\ud800\\u0041\"", 7, "high surrogate not followed by a low surrogate"),
        ("{} {}", 3, "unexpected data after the end"),
        ("[1] x", 4, "unexpected data after the end"),
        ("[\"a\", tru]", 9, "expected 'true', found ']'"),
        ("{\"inputs\": [{\"data\": [1, 2, x]}]}", 28, "inputs[0].data[2]"),
        ("{\"a\": [[1, 2], [3, 4.e5]]}", 21, "a[1][1]"),
    ] as [(String, Int, String)])
    func malformedDocuments(text: String, offset: Int, fragment: String) {
        do {
            let value = try parse(text)
            Issue.record("\(text) parsed as \(value)")
        } catch {
            #expect(error.offset == offset, "\(text): \(error)")
            #expect(error.description.contains(fragment), "\(text): \(error)")
        }
    }

    @Test func invalidUTF8IsRejectedWithItsOffset() {
        let bytes: [UInt8] = Array("{\"k\": \"ab".utf8) + [0xC3, 0x28] + Array("\"}".utf8)
        #expect(throws: JSONParseError(.invalidString("invalid UTF-8"), offset: 9, path: [.key("k")])) { try JSONParser.parse(bytes) }
    }

    @Test func limitsAreEnforced() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError.self) { try parse(deep) }
        let deepObjects = String(repeating: "{\"a\":", count: 100) + "1" + String(repeating: "}", count: 100)
        do {
            _ = try parse(deepObjects)
            Issue.record("100 nested objects accepted")
        } catch {
            #expect(error.kind == .tooDeep(limit: 64))
        }
        #expect(throws: JSONParseError(.tooLarge("more than 3 numbers"), offset: 8)) {
            try parse("[1,2,3,4]", limits: JSONParserLimits(maximumNumberCount: 3))
        }
        #expect(throws: JSONParseError(.tooLarge("a string longer than 4 bytes"), offset: 0)) {
            try parse("\"abcde\"", limits: JSONParserLimits(maximumStringBytes: 4))
        }
        #expect(throws: JSONParseError(.tooLarge("10 bytes, the limit is 9"), offset: 0)) {
            try parse("[1,2,3,45]", limits: JSONParserLimits(maximumBytes: 9))
        }
        // 100 000 nested arrays must not overflow the stack: the depth limit stops them first.
        let hostile = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParseError.self) { try parse(hostile) }
    }

    /// Random corruptions of valid documents (byte flips, truncations, insertions): the parser
    /// returns or throws, and agrees with the naive grammar recognizer on whether the document is
    /// valid JSON. (Foundation's parser is not the reference: it accepts trailing commas.)
    @Test func fuzzedDocumentsNeverCrashAndAgreeWithTheGrammar() {
        let seeds = [
            #"{"inputs": {"input": {"shape": [1, 3, 2, 2], "data": [[[[0.5, -1], [2e3, 4]], [[1, 2], [3, 4]], [[5, 6], [7.25, 8]]]]}}, "layers": ["layer3", -1], "pool": "mean", "normalize": false}"#,
            #"{"inputs": [{"name": "ids", "shape": [1, 3], "datatype": "INT64", "data": [101, 2023, 102], "parameters": {"binary_data_size": 0}}], "outputs": [{"name": "x", "parameters": {"binary_data": true}}]}"#,
            #"{"text": ["héllo \"world\"", "\u00e9\ud83d\ude00"], "a": [null, true, false, {}], "b": [[], [[]]]}"#,
        ]
        var generator = SeededGenerator(seed: 31)
        var disagreements: [String] = []
        for iteration in 0..<20_000 {
            var bytes = Array(seeds[iteration % seeds.count].utf8)
            for _ in 0..<(1 + Int(generator.next() % 3)) {
                let position = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 4 {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: generator.next())
                case 1: bytes.removeSubrange(position...)
                case 2: bytes.insert(Array("[]{}\",:-0e.\\".utf8)[Int(generator.next() % 12)], at: position)
                default: bytes.remove(at: position)
                }
                if bytes.isEmpty { bytes = [UInt8(ascii: "[")] }
            }
            let ours = (try? JSONParser.parse(bytes)) != nil
            let reference = JSONRecognizer.accepts(bytes)
            if ours != reference && disagreements.count < 5 {
                disagreements.append("\(ours ? "we accept" : "we reject"): \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements)")
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let number): number.text
        case .string(let text): "\"\(text)\""
        case .array(let elements): "[" + elements.map(\.description).joined(separator: ",") + "]"
        case .numbers(let numbers): "numbers\(numbers.shape)"
        case .object(let object): "{" + object.members.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        }
    }
}
