/// Why percent-decoding failed.
enum PercentDecodingError: Error, Equatable {
    /// `%` not followed by two hex digits.
    case malformedEscape
    /// The decoded bytes are not valid UTF-8 or contain NUL.
    case invalidDecodedBytes
}

/// Decodes `%XX` escapes (and `+` as space when `plusIsSpace`, for query strings) into a string.
/// The result must be valid UTF-8 without NUL bytes: a decoded NUL in a path is an attack, not a name.
func percentDecoded(_ text: some StringProtocol, plusIsSpace: Bool) throws(PercentDecodingError) -> String {
    let utf8 = text.utf8
    // Fast path: nothing to decode.
    if !utf8.contains(UInt8(ascii: "%")) && !(plusIsSpace && utf8.contains(UInt8(ascii: "+"))) {
        return String(text)
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(utf8.count)
    var iterator = utf8.makeIterator()
    while let byte = iterator.next() {
        if byte == UInt8(ascii: "%") {
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw .malformedEscape
            }
            let decoded = high << 4 | low
            if decoded == 0 { throw .invalidDecodedBytes }
            bytes.append(decoded)
        } else if plusIsSpace && byte == UInt8(ascii: "+") {
            bytes.append(UInt8(ascii: " "))
        } else {
            bytes.append(byte)
        }
    }
    guard let string = String(validating: bytes, as: UTF8.self) else { throw .invalidDecodedBytes }
    return string
}

/// Checks that every `%` in `bytes` starts a two-hex-digit escape.
func hasWellFormedEscapes(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    while i < bytes.count {
        if bytes[i] == UInt8(ascii: "%") {
            guard i + 2 < bytes.count, hexValue(bytes[i + 1]) != nil, hexValue(bytes[i + 2]) != nil else { return false }
            i += 3
        } else {
            i += 1
        }
    }
    return true
}

/// The value of one hex digit, or nil.
@inline(__always)
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}
