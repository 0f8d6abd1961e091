/// The naive twin of `JSONParser`'s acceptance: a direct transcription of RFC 8259's grammar
/// that only answers whether bytes are one valid JSON document (strings checked for escapes
/// and control characters; UTF-8 validity checked separately by the standard library).
struct JSONRecognizer {
    private let bytes: [UInt8]
    private var index = 0

    static func accepts(_ bytes: [UInt8]) -> Bool {
        var recognizer = JSONRecognizer(bytes: bytes)
        guard recognizer.value(depth: 1) else { return false }
        recognizer.whitespace()
        return recognizer.index == bytes.count && String(validating: bytes, as: UTF8.self) != nil
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func whitespace() {
        while let byte = current, [0x20, 0x0A, 0x0D, 0x09].contains(byte) { index += 1 }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard current == byte else { return false }
        index += 1
        return true
    }

    private mutating func value(depth: Int) -> Bool {
        guard depth <= 64 else { return false }
        whitespace()
        guard let byte = current else { return false }
        switch byte {
        case UInt8(ascii: "{"):
            index += 1
            whitespace()
            if consume(UInt8(ascii: "}")) { return true }
            repeat {
                whitespace()
                guard current == UInt8(ascii: "\""), string() else { return false }
                whitespace()
                guard consume(UInt8(ascii: ":")), value(depth: depth + 1) else { return false }
                whitespace()
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            index += 1
            whitespace()
            if consume(UInt8(ascii: "]")) { return true }
            repeat {
                guard value(depth: depth + 1) else { return false }
                whitespace()
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "]"))
        case UInt8(ascii: "\""): return string()
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number()
        }
    }

    private mutating func literal(_ text: String) -> Bool {
        for byte in text.utf8 { guard consume(byte) else { return false } }
        return true
    }

    private func isDigit(_ byte: UInt8?) -> Bool { byte.map { $0 >= 48 && $0 <= 57 } ?? false }

    private mutating func number() -> Bool {
        _ = consume(UInt8(ascii: "-"))
        if consume(UInt8(ascii: "0")) {
            if isDigit(current) { return false }
        } else {
            guard isDigit(current) else { return false }
            while isDigit(current) { index += 1 }
        }
        if consume(UInt8(ascii: ".")) {
            guard isDigit(current) else { return false }
            while isDigit(current) { index += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard isDigit(current) else { return false }
            while isDigit(current) { index += 1 }
        }
        return true
    }

    private mutating func string() -> Bool {
        index += 1
        var pendingHighSurrogate = false
        while let byte = current {
            index += 1
            if byte == UInt8(ascii: "\"") { return !pendingHighSurrogate }
            if byte < 0x20 { return false }
            if byte != UInt8(ascii: "\\") {
                if pendingHighSurrogate { return false }
                continue
            }
            guard let escaped = current else { return false }
            index += 1
            if escaped == UInt8(ascii: "u") {
                guard index + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16),
                      bytes[index..<(index + 4)].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") }) else { return false }
                index += 4
                let isHigh = code >= 0xD800 && code < 0xDC00, isLow = code >= 0xDC00 && code < 0xE000
                if pendingHighSurrogate != isLow { return false }
                pendingHighSurrogate = isHigh
            } else {
                if pendingHighSurrogate { return false }
                guard Array("\"\\/bfnrt".utf8).contains(escaped) else { return false }
            }
        }
        return false
    }
}
