/// Standard base64 (RFC 4648 §4, alphabet `A–Z a–z 0–9 + /`, `=` padding), for tensors sent or
/// returned with `encoding: "base64"` and for images.
///
/// Decoding is strict: the length must be a multiple of 4 (padding required), no whitespace or
/// line breaks, `=` only as the last one or two characters, and the unused bits of the last group
/// must be zero (so every byte string has exactly one accepted encoding). Errors give the offset.
public enum Base64 {
    /// Characters needed for `byteCount` bytes, padding included.
    public static func encodedLength(_ byteCount: Int) -> Int { (byteCount + 2) / 3 * 4 }

    // MARK: - Encoding

    /// Encodes `source` at `destination` (which needs `encodedLength(source.count)` bytes plus 8 of
    /// scratch room); returns the number of characters written.
    public static func encode(_ source: UnsafeRawBufferPointer, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        guard let input = source.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        let count = source.count
        return encodeAlphabet.withUnsafeBufferPointer { alphabet in
            let table = alphabet.baseAddress!
            var read = 0, written = 0
            // Six bytes → eight characters per step, stored as one word.
            while read + 8 <= count {
                let word = UInt64(bigEndian: UnsafeRawPointer(input + read).loadUnaligned(as: UInt64.self))
                var characters: UInt64 = 0
                for index in 0..<8 {
                    let sextet = Int((word >> (58 - 6 * index)) & 0x3F)
                    characters |= UInt64(table[sextet]) << (8 * index)
                }
                UnsafeMutableRawPointer(destination + written).storeBytes(of: characters, as: UInt64.self)
                read += 6
                written += 8
            }
            while read + 3 <= count {
                let group = Int(input[read]) << 16 | Int(input[read + 1]) << 8 | Int(input[read + 2])
                destination[written] = table[group >> 18]
                destination[written + 1] = table[(group >> 12) & 0x3F]
                destination[written + 2] = table[(group >> 6) & 0x3F]
                destination[written + 3] = table[group & 0x3F]
                read += 3
                written += 4
            }
            let remaining = count - read
            if remaining > 0 {
                let group = Int(input[read]) << 16 | (remaining == 2 ? Int(input[read + 1]) << 8 : 0)
                destination[written] = table[group >> 18]
                destination[written + 1] = table[(group >> 12) & 0x3F]
                destination[written + 2] = remaining == 2 ? table[(group >> 6) & 0x3F] : UInt8(ascii: "=")
                destination[written + 3] = UInt8(ascii: "=")
                written += 4
            }
            return written
        }
    }

    /// The base64 text of `bytes`.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let contiguous = Array(bytes)
        let length = encodedLength(contiguous.count)
        return String(unsafeUninitializedCapacity: length + 8) { buffer in
            contiguous.withUnsafeBytes { encode($0, to: buffer.baseAddress!) }
        }
    }

    // MARK: - Decoding

    /// The decoded bytes of base64 text `source`; `baseOffset` is added to offsets in errors
    /// (the text's position inside a larger body).
    public static func decode(_ source: UnsafeRawBufferPointer, baseOffset: Int = 0) throws(Base64Error) -> [UInt8] {
        let count = source.count
        guard count % 4 == 0 else { throw .invalidLength(count) }
        guard count > 0, let input = source.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return [] }
        var padding = 0
        if input[count - 1] == UInt8(ascii: "=") { padding = input[count - 2] == UInt8(ascii: "=") ? 2 : 1 }
        let byteCount = count / 4 * 3 - padding
        var failure: Base64Error?
        let bytes = [UInt8](unsafeUninitializedCapacity: byteCount + 8) { buffer, initialized in
            let output = buffer.baseAddress!
            decodeTable.withUnsafeBufferPointer { table in
                let table = table.baseAddress!
                var read = 0, written = 0
                let fullGroupsEnd = count - 4  // the last group may hold padding
                // Eight characters → six bytes per step; an invalid character sets bit 7 somewhere.
                while read + 8 <= fullGroupsEnd {
                    var accumulated: UInt64 = 0, invalid: UInt8 = 0
                    for index in 0..<8 {
                        let value = table[Int(input[read + index])]
                        invalid |= value
                        accumulated = accumulated << 6 | UInt64(value)
                    }
                    if invalid & 0x80 != 0 { break }
                    UnsafeMutableRawPointer(output + written).storeBytes(of: (accumulated << 16).bigEndian, as: UInt64.self)
                    read += 8
                    written += 6
                }
                while read < count {
                    var group = 0
                    let isLast = read == count - 4
                    let characters = isLast ? 4 - padding : 4
                    for index in 0..<characters {
                        let value = table[Int(input[read + index])]
                        if value & 0x80 != 0 {
                            failure = .invalidCharacter(offset: baseOffset + read + index, byte: input[read + index])
                            return
                        }
                        group = group << 6 | Int(value)
                    }
                    if isLast && padding > 0 {
                        // Unused low bits must be zero: 4 after two characters, 2 after three.
                        let unusedBits = padding == 2 ? 4 : 2
                        if group & ((1 << unusedBits) - 1) != 0 {
                            failure = .nonzeroTrailingBits(offset: baseOffset + read + characters - 1)
                            return
                        }
                        group >>= unusedBits
                        if padding == 2 {
                            output[written] = UInt8(group)
                            written += 1
                        } else {
                            output[written] = UInt8(group >> 8)
                            output[written + 1] = UInt8(group & 0xFF)
                            written += 2
                        }
                    } else {
                        output[written] = UInt8(group >> 16)
                        output[written + 1] = UInt8((group >> 8) & 0xFF)
                        output[written + 2] = UInt8(group & 0xFF)
                        written += 3
                    }
                    read += 4
                }
                initialized = written
            }
            if failure != nil { initialized = 0 }
        }
        if let failure { throw failure }
        return bytes
    }

    /// The decoded bytes of base64 text.
    public static func decode(_ text: String) throws(Base64Error) -> [UInt8] {
        var text = text
        let result = text.withUTF8 { utf8 in Result { () throws(Base64Error) in try decode(UnsafeRawBufferPointer(utf8)) } }
        return try result.get()
    }

    // MARK: - Tables

    private static let encodeAlphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Character → sextet; 0xFF for characters outside the alphabet (`=` included: the decoder
    /// handles padding by position).
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, character) in encodeAlphabet.enumerated() { table[Int(character)] = UInt8(index) }
        return table
    }()
}
