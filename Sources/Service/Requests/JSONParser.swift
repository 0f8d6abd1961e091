/// A strict RFC 8259 JSON parser for request bodies: one pass over the bytes, no recursion deeper
/// than `limits.maximumDepth`, every failure a `JSONParseError` with the byte offset, the path
/// and what was expected — never a crash, whatever the input.
///
/// Regular arrays of numbers (`[[0.1, 0.2], [0.3, 0.4]]`, the bulk of a tensor request) take a fast
/// path straight into a `JSONNumberArray` (16 bytes per number, no `JSONValue` per element); other
/// arrays fall back to the general path, re-read from their start.
public struct JSONParser {
    private let bytes: UnsafePointer<UInt8>
    private let end: Int
    private let limits: JSONParserLimits
    private var position = 0
    private var numberCount = 0

    /// Parses a complete document.
    public static func parse(_ body: [UInt8], limits: JSONParserLimits = JSONParserLimits()) throws(JSONParseError) -> JSONValue {
        let outcome = body.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) in try parse(buffer, limits: limits) }
        }
        return try outcome.get()
    }

    /// Parses a complete document from raw bytes.
    public static func parse(_ body: UnsafeBufferPointer<UInt8>, limits: JSONParserLimits = JSONParserLimits()) throws(JSONParseError) -> JSONValue {
        guard body.count <= limits.maximumBytes else {
            throw JSONParseError(.tooLarge("\(body.count) bytes, the limit is \(limits.maximumBytes)"), offset: 0)
        }
        guard let base = body.baseAddress, body.count > 0 else { throw JSONParseError(.unexpectedEnd(expected: "a JSON value"), offset: 0) }
        var parser = JSONParser(bytes: base, end: body.count, limits: limits)
        let value = try parser.parseValue(depth: 1)
        parser.skipWhitespace()
        guard parser.position == parser.end else { throw JSONParseError(.trailingData, offset: parser.position) }
        return value
    }

    private init(bytes: UnsafePointer<UInt8>, end: Int, limits: JSONParserLimits) {
        self.bytes = bytes
        self.end = end
        self.limits = limits
    }

    // MARK: - Values

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard position < end else { throw error(.unexpectedEnd(expected: "a value")) }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = position
            let decimal = try scanNumber()
            return .number(JSONNumber(decimal: decimal, text: text(start..<position)))
        case let byte:
            throw error(.unexpectedByte(byte, expected: "a value (object, array, string, number, true, false or null)"))
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        for index in 0..<count {
            guard position + index < end else { throw error(.unexpectedEnd(expected: "'\(literal)'"), at: position + index) }
            guard bytes[position + index] == literal.utf8Start[index] else {
                throw error(.unexpectedByte(bytes[position + index], expected: "'\(literal)'"), at: position + index)
            }
        }
        position += count
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= limits.maximumDepth else { throw error(.tooDeep(limit: limits.maximumDepth)) }
        position += 1
        var object = JSONObject()
        var seen: Set<String>?
        skipWhitespace()
        if position < end && bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard position < end else { throw error(.unexpectedEnd(expected: "a string key")) }
            guard bytes[position] == UInt8(ascii: "\"") else {
                throw error(.unexpectedByte(bytes[position], expected: object.count == 0 ? "a string key or '}'" : "a string key"))
            }
            let keyOffset = position
            let key = try parseString()
            // Linear search while small; a set once an object has many keys (hostile bodies).
            if object.count >= 16 && seen == nil { seen = Set(object.keys) }
            let duplicate = seen.map { $0.contains(key) } ?? object.members.contains { $0.key == key }
            if duplicate { throw JSONParseError(.duplicateKey(key), offset: keyOffset) }
            seen?.insert(key)
            skipWhitespace()
            guard position < end else { throw error(.unexpectedEnd(expected: "':' after the key"), path: [.key(key)]) }
            guard bytes[position] == UInt8(ascii: ":") else {
                throw error(.unexpectedByte(bytes[position], expected: "':' after the key"), path: [.key(key)])
            }
            position += 1
            let value: JSONValue
            do {
                value = try parseValue(depth: depth + 1)
            } catch {
                throw error.prepending(.key(key))
            }
            object.append(key: key, value: value)
            skipWhitespace()
            guard position < end else { throw error(.unexpectedEnd(expected: "',' or '}'")) }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(object)
            case let byte: throw error(.unexpectedByte(byte, expected: "',' or '}' after an object member"), path: [.key(key)])
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= limits.maximumDepth else { throw error(.tooDeep(limit: limits.maximumDepth)) }
        let start = position
        let countBefore = numberCount
        if let numbers = try scanNumericArray(depth: depth) { return .numbers(numbers) }
        // Not a regular numeric array: read it again, generally.
        position = start
        numberCount = countBefore
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < end && bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            do {
                elements.append(try parseValue(depth: depth + 1))
            } catch {
                throw error.prepending(.index(elements.count))
            }
            skipWhitespace()
            guard position < end else { throw error(.unexpectedEnd(expected: "',' or ']'")) }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(elements)
            case let byte: throw error(.unexpectedByte(byte, expected: "',' or ']' after an array element"), path: [.index(elements.count - 1)])
            }
        }
    }

    // MARK: - Numeric arrays

    /// State of the numeric fast path: per nesting level, the length (fixed by the first array
    /// completed at that level) and whether its elements are arrays or numbers.
    private struct NumericScan {
        var lengths: [Int] = []
        var nested: [Bool?] = []
        let decimals = DecimalAccumulator()
        var truncated: [Int: String] = [:]
    }

    /// A growable buffer of decimals appended to without Array's per-append uniqueness check.
    private final class DecimalAccumulator {
        private(set) var base = UnsafeMutablePointer<JSONDecimal>.allocate(capacity: 64)
        private(set) var capacity = 64
        var count = 0

        deinit { base.deallocate() }

        @inline(__always)
        func append(_ decimal: JSONDecimal) {
            if count == capacity { grow() }
            (base + count).initialize(to: decimal)
            count += 1
        }

        private func grow() {
            let bigger = UnsafeMutablePointer<JSONDecimal>.allocate(capacity: capacity * 2)
            bigger.moveInitialize(from: base, count: count)
            base.deallocate()
            base = bigger
            capacity *= 2
        }

        func array() -> [JSONDecimal] { Array(UnsafeBufferPointer(start: base, count: count)) }
    }

    /// Reads a regular numeric array at `position` (a `[`); nil (position undefined) when the
    /// array is anything else or has a syntax error, which the general path then reports.
    private mutating func scanNumericArray(depth: Int) throws(JSONParseError) -> JSONNumberArray? {
        var scan = NumericScan()
        guard try scanNumericLevel(0, depth: depth, scan: &scan) else { return nil }
        // Levels never reached (only empty arrays at the level above) have length 0.
        return JSONNumberArray(shape: scan.lengths, decimals: scan.decimals.array(), truncatedLiterals: scan.truncated)
    }

    private mutating func scanNumericLevel(_ level: Int, depth: Int, scan: inout NumericScan) throws(JSONParseError) -> Bool {
        guard depth <= limits.maximumDepth else { throw error(.tooDeep(limit: limits.maximumDepth)) }
        if level == scan.lengths.count {
            scan.lengths.append(-1)
            scan.nested.append(nil)
        }
        // A local cursor (kept in a register), written back around calls that move `position`.
        let bytes = self.bytes, end = self.end
        var cursor = position + 1
        var count = 0
        JSONParser.skipSpace(bytes, end: end, cursor: &cursor)
        if cursor < end && bytes[cursor] == UInt8(ascii: "]") {
            cursor += 1
        } else {
            while true {
                JSONParser.skipSpace(bytes, end: end, cursor: &cursor)
                guard cursor < end else { return false }
                let byte = bytes[cursor]
                if byte &- UInt8(ascii: "0") <= 9 || byte == UInt8(ascii: "-") {
                    if scan.nested[level] == true { return false }
                    scan.nested[level] = false
                    // The leaf row: numbers until ']', in a tight loop on locals.
                    let decimals = scan.decimals
                    while true {
                        let start = cursor
                        let decimal: JSONDecimal
                        if let fast = JSONParser.scanShortFraction(bytes, end: end, position: &cursor) {
                            decimal = fast
                        } else {
                            var failure: JSONParseError?
                            decimal = JSONParser.scanNumber(bytes, end: end, position: &cursor, failure: &failure)
                            if let failure { throw failure.prepending(.index(count)) }
                        }
                        if decimal.truncated { scan.truncated[decimals.count] = text(start..<cursor) }
                        decimals.append(decimal)
                        count += 1
                        if numberCount + count > limits.maximumNumberCount {
                            throw error(.tooLarge("more than \(limits.maximumNumberCount) numbers"), at: cursor)
                        }
                        JSONParser.skipSpace(bytes, end: end, cursor: &cursor)
                        guard cursor < end else { return false }
                        let next = bytes[cursor]
                        if next == UInt8(ascii: "]") { break }
                        guard next == UInt8(ascii: ",") else { return false }
                        cursor += 1
                        JSONParser.skipSpace(bytes, end: end, cursor: &cursor)
                        guard cursor < end else { return false }
                        let following = bytes[cursor]
                        guard following &- UInt8(ascii: "0") <= 9 || following == UInt8(ascii: "-") else { return false }
                    }
                    numberCount += count
                    cursor += 1
                    break
                } else if byte == UInt8(ascii: "[") {
                    if scan.nested[level] == false { return false }
                    scan.nested[level] = true
                    position = cursor
                    let ok: Bool
                    do {
                        ok = try scanNumericLevel(level + 1, depth: depth + 1, scan: &scan)
                    } catch {
                        throw error.prepending(.index(count))
                    }
                    guard ok else { return false }
                    cursor = position
                } else {
                    return false
                }
                count += 1
                JSONParser.skipSpace(bytes, end: end, cursor: &cursor)
                guard cursor < end else { return false }
                if bytes[cursor] == UInt8(ascii: ",") {
                    cursor += 1
                    continue
                }
                if bytes[cursor] == UInt8(ascii: "]") {
                    cursor += 1
                    break
                }
                return false
            }
        }
        position = cursor
        if scan.lengths[level] == -1 {
            scan.lengths[level] = count
        } else if scan.lengths[level] != count {
            return false
        }
        // An empty array fixes the depth below it: nothing may be nested under any sibling.
        if count == 0 && level + 1 < scan.lengths.count { return false }
        if count == 0 { scan.nested[level] = scan.nested[level] ?? false }
        if scan.nested[level] == false && level + 1 < scan.lengths.count { return false }
        return true
    }

    // MARK: - Numbers

    /// Reads a number literal (JSON grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`)
    /// into a decimal with up to 19 significant digits.
    @inline(__always)
    private mutating func scanNumber() throws(JSONParseError) -> JSONDecimal {
        var failure: JSONParseError?
        let decimal = JSONParser.scanNumber(bytes, end: end, position: &position, failure: &failure)
        if let failure { throw failure }
        return decimal
    }

    /// The number literal at `position`, which moves past it. Static and on a local cursor so it
    /// inlines into the array loop with everything in registers.
    /// The commonest literal in feature and image data, `-d.ddddddd` (one integer digit, one to
    /// eight fraction digits, no exponent), read with one eight-byte load; nil (position
    /// unchanged) for anything else, which `scanNumber` then reads.
    @inline(__always)
    private static func scanShortFraction(_ bytes: UnsafePointer<UInt8>, end: Int, position cursor: inout Int) -> JSONDecimal? {
        var position = cursor
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        // Room for the digit, the point, eight digits and the byte after them.
        guard position + 11 <= end else { return nil }
        let integer = bytes[position] &- UInt8(ascii: "0")
        guard integer <= 9, bytes[position + 1] == UInt8(ascii: ".") else { return nil }
        let chunk = UnsafeRawPointer(bytes + position + 2).loadUnaligned(as: UInt64.self)
        let count = leadingDigitCount(chunk)
        guard count > 0 else { return nil }
        let following = bytes[position + 2 + count]
        guard following | 0x20 != UInt8(ascii: "e"), following &- UInt8(ascii: "0") > 9 else { return nil }
        let mantissa = UInt64(integer) &* powersOfTenUInt64[count] &+ digitsValue(chunk, count: count)
        cursor = position + 2 + count
        return JSONDecimal(mantissa: mantissa, exponent: Int32(-count), negative: negative)
    }

    /// Non-throwing; a syntax error sets `failure` and returns zero.
    @inline(__always)
    private static func scanNumber(_ bytes: UnsafePointer<UInt8>, end: Int, position cursor: inout Int,
                                   failure: inout JSONParseError?) -> JSONDecimal {
        var position = cursor
        var negative = false
        if bytes[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        guard position < end else { failure = JSONParseError(.unexpectedEnd(expected: "a digit after '-'"), offset: position); return JSONDecimal.zero }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var exponent = 0
        var truncated = false
        var isInteger = true
        let first = bytes[position]
        if first == UInt8(ascii: "0") {
            position += 1
            if position < end && JSONParser.isDigit(bytes[position]) {
                failure = JSONParseError(.invalidNumber("leading zeros are not allowed"), offset: position); return JSONDecimal.zero
            }
        } else if JSONParser.isDigit(first) {
            // One integer digit is the common case for features and normalized inputs.
            mantissa = UInt64(first &- UInt8(ascii: "0"))
            significantDigits = 1
            position += 1
            // Up to eight more digits per step while they fit in the 19 kept.
            while significantDigits <= 11 && position + 8 <= end && JSONParser.isDigit(bytes[position]) {
                let chunk = UnsafeRawPointer(bytes + position).loadUnaligned(as: UInt64.self)
                let count = JSONParser.leadingDigitCount(chunk)
                if count == 0 { break }
                mantissa = mantissa &* powersOfTenUInt64[count] &+ JSONParser.digitsValue(chunk, count: count)
                significantDigits += count
                position += count
                if count < 8 { break }
            }
            while position < end {
                let digit = bytes[position] &- UInt8(ascii: "0")
                if digit > 9 { break }
                if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(digit)
                    significantDigits += 1
                } else {
                    if digit != 0 { truncated = true }
                    exponent += 1
                }
                position += 1
            }
        } else {
            failure = JSONParseError(.invalidNumber("expected a digit, found \(Base64Error.describe(first))"), offset: position); return JSONDecimal.zero
        }
        if position < end && bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard position < end, JSONParser.isDigit(bytes[position]) else {
                failure = JSONParseError(.invalidNumber("expected a digit after the decimal point"), offset: position); return JSONDecimal.zero
            }
            // Up to eight digits per step while they fit in the 19 kept (a float32's fraction
            // usually takes one step).
            while significantDigits <= 11 && position + 8 <= end {
                let chunk = UnsafeRawPointer(bytes + position).loadUnaligned(as: UInt64.self)
                let count = JSONParser.leadingDigitCount(chunk)
                if count == 0 { break }
                if mantissa == 0 {
                    // Leading zeros of a fraction (0.000123) are not significant.
                    let zeroDigits = ((chunk ^ 0x3030_3030_3030_3030).trailingZeroBitCount >> 3)
                    significantDigits = count - Swift.min(zeroDigits, count)
                } else {
                    significantDigits += count
                }
                mantissa = mantissa &* powersOfTenUInt64[count] &+ JSONParser.digitsValue(chunk, count: count)
                exponent -= count
                position += count
                if count < 8 { break }
            }
            while position < end {
                let digit = bytes[position] &- UInt8(ascii: "0")
                if digit > 9 { break }
                if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(digit)
                    // Leading zeros of a fraction (0.000123) are not significant.
                    if mantissa != 0 { significantDigits += 1 }
                    exponent -= 1
                } else if digit != 0 {
                    truncated = true
                }
                position += 1
            }
        }
        if position < end && (bytes[position] | 0x20) == UInt8(ascii: "e") {
            isInteger = false
            position += 1
            var exponentNegative = false
            if position < end && (bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+")) {
                exponentNegative = bytes[position] == UInt8(ascii: "-")
                position += 1
            }
            guard position < end, JSONParser.isDigit(bytes[position]) else {
                failure = JSONParseError(.invalidNumber("expected a digit in the exponent"), offset: position); return JSONDecimal.zero
            }
            var explicit = 0
            while position < end {
                let digit = bytes[position] &- UInt8(ascii: "0")
                if digit > 9 { break }
                // Saturate: anything past 10^6 is 0 or infinity for every type we produce.
                if explicit < 1_000_000 { explicit = explicit * 10 + Int(digit) }
                position += 1
            }
            exponent += exponentNegative ? -explicit : explicit
        }
        exponent = Swift.max(-2_000_000, Swift.min(2_000_000, exponent))
        cursor = position
        return JSONDecimal(mantissa: mantissa, exponent: Int32(exponent), negative: negative, truncated: truncated,
                           isIntegerLiteral: isInteger)
    }

    @inline(__always)
    private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") <= 9 }

    /// How many of the eight bytes in `chunk` (first byte lowest) are ASCII digits before the
    /// first other byte. After `^ 0x30` a digit byte is 0…9; bit 7 of `x | (x + 0x76)` is set
    /// exactly for the other bytes (a carry out of a byte only comes from a non-digit before it).
    @inline(__always)
    private static func leadingDigitCount(_ chunk: UInt64) -> Int {
        let x = chunk ^ 0x3030_3030_3030_3030
        let nonDigits = (x | (x &+ 0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080
        return nonDigits.trailingZeroBitCount >> 3
    }

    /// The value of the first `count` (1…8) ASCII digits in `chunk`: they are moved to the top
    /// bytes with '0's shifted in below, then converted as eight digits.
    @inline(__always)
    private static func digitsValue(_ chunk: UInt64, count: Int) -> UInt64 {
        let aligned = count == 8 ? chunk : (chunk &<< (64 &- 8 &* count)) | (0x3030_3030_3030_3030 &>> (8 &* count))
        return JSONParser.eightDigitsValue(aligned)
    }

    /// The value of eight ASCII digits, the first in the lowest byte (simdjson's
    /// `parse_eight_digits_unrolled`): pairs, then quadruples, then all eight, by multiply-shift.
    @inline(__always)
    private static func eightDigitsValue(_ chunk: UInt64) -> UInt64 {
        var value = chunk & 0x0F0F_0F0F_0F0F_0F0F
        value = (value &* 2561) >> 8
        value = ((value & 0x00FF_00FF_00FF_00FF) &* 6_553_601) >> 16
        return ((value & 0x0000_FFFF_0000_FFFF) &* 42_949_672_960_001) >> 32
    }

    // MARK: - Strings

    /// Reads a string literal at `position` (a `"`): escapes decoded, UTF-8 validated.
    private mutating func parseString() throws(JSONParseError) -> String {
        let opening = position
        position += 1
        let start = position
        // Fast path: no escapes.
        while position < end {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            position += 1
        }
        guard position < end else { throw error(.unexpectedEnd(expected: "the closing '\"' of the string that starts at byte \(opening)")) }
        guard position - start <= limits.maximumStringBytes else {
            throw error(.tooLarge("a string longer than \(limits.maximumStringBytes) bytes"), at: opening)
        }
        if bytes[position] == UInt8(ascii: "\"") {
            let string = try validatedString(UnsafeBufferPointer(start: bytes + start, count: position - start), offset: start)
            position += 1
            return string
        }
        // Slow path: copy runs, decode escapes.
        var decoded = [UInt8](UnsafeBufferPointer(start: bytes + start, count: position - start))
        while true {
            guard position < end else { throw error(.unexpectedEnd(expected: "the closing '\"' of the string that starts at byte \(opening)")) }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                break
            }
            if byte < 0x20 {
                throw error(.invalidString("control character \(Base64Error.describe(byte)) must be escaped"))
            }
            if byte != UInt8(ascii: "\\") {
                decoded.append(byte)
                position += 1
                if decoded.count > limits.maximumStringBytes {
                    throw error(.tooLarge("a string longer than \(limits.maximumStringBytes) bytes"), at: opening)
                }
                continue
            }
            let escapeStart = position
            position += 1
            guard position < end else { throw error(.unexpectedEnd(expected: "an escape character after '\\'")) }
            let escaped = bytes[position]
            position += 1
            switch escaped {
            case UInt8(ascii: "\""): decoded.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): decoded.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): decoded.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): decoded.append(0x08)
            case UInt8(ascii: "f"): decoded.append(0x0C)
            case UInt8(ascii: "n"): decoded.append(0x0A)
            case UInt8(ascii: "r"): decoded.append(0x0D)
            case UInt8(ascii: "t"): decoded.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hexQuad(at: escapeStart)
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard position + 1 < end, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw error(.invalidString("unpaired surrogate \\u\(String(scalar, radix: 16, uppercase: true))"), at: escapeStart)
                    }
                    let lowStart = position
                    position += 2
                    let low = try hexQuad(at: lowStart)
                    guard low >= 0xDC00 && low < 0xE000 else {
                        throw error(.invalidString("high surrogate not followed by a low surrogate"), at: lowStart)
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw error(.invalidString("unpaired surrogate \\u\(String(scalar, radix: 16, uppercase: true))"), at: escapeStart)
                }
                decoded.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default:
                throw error(.invalidString("invalid escape '\\\(Base64Error.describe(escaped))'"), at: escapeStart)
            }
        }
        return try decoded.withUnsafeBufferPointer { (buffer) throws(JSONParseError) in try validatedString(buffer, offset: start) }
    }

    /// Four hex digits after `\u` at `position`.
    private mutating func hexQuad(at escapeStart: Int) throws(JSONParseError) -> UInt32 {
        guard position + 4 <= end else { throw error(.unexpectedEnd(expected: "four hex digits after '\\u'")) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error(.invalidString("expected four hex digits after '\\u'"), at: position)
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private func validatedString(_ buffer: UnsafeBufferPointer<UInt8>, offset: Int) throws(JSONParseError) -> String {
        if let string = String(validating: buffer, as: UTF8.self) { return string }
        // Find the first bad byte for the message.
        var index = 0
        var iterator = buffer.makeIterator()
        var decoder = UTF8()
        var badOffset = offset
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): index += UTF8.width(scalar)
            case .emptyInput: break loop
            case .error: badOffset = offset + index; break loop
            }
        }
        throw JSONParseError(.invalidString("invalid UTF-8"), offset: badOffset)
    }

    // MARK: - Helpers

    /// Moves `cursor` past spaces, tabs and line breaks (a static function: a nested one
    /// capturing the cursor would box it and check exclusive access at run time).
    @inline(__always)
    private static func skipSpace(_ bytes: UnsafePointer<UInt8>, end: Int, cursor: inout Int) {
        while cursor < end {
            let byte = bytes[cursor]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            cursor += 1
        }
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while position < end {
            let byte = bytes[position]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            position += 1
        }
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(start: bytes + range.lowerBound, count: range.count), as: UTF8.self)
    }

    private func error(_ kind: JSONParseError.Kind, at offset: Int? = nil, path: [JSONPathComponent] = []) -> JSONParseError {
        JSONParseError(kind, offset: offset ?? position, path: path)
    }
}

/// 10^0 … 10^8.
private let powersOfTenUInt64: [UInt64] = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000]

extension JSONParseError {
    /// The same error one level further out.
    func prepending(_ component: JSONPathComponent) -> JSONParseError {
        var copy = self
        copy.path.insert(component, at: 0)
        return copy
    }
}
