/// A growable byte buffer that JSON is written into through raw pointers: numbers go straight
/// from their binary form to bytes here, without a `String` each.
///
/// Reference type so nested writers share one buffer; owned by one task at a time (not `Sendable`).
public final class JSONOutputBuffer {
    /// The written bytes start here; valid for `count` bytes.
    public private(set) var base: UnsafeMutablePointer<UInt8>
    public private(set) var capacity: Int
    public private(set) var count: Int = 0

    public init(capacity: Int = 1 << 16) {
        self.capacity = Swift.max(capacity, 64)
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    // MARK: - Raw access

    /// The write position, with at least `byteCount` bytes of room after it. Write, then `advance`.
    @inline(__always)
    public func reserve(_ byteCount: Int) -> UnsafeMutablePointer<UInt8> {
        if capacity - count < byteCount { grow(toFit: byteCount) }
        return base + count
    }

    /// Marks `byteCount` bytes after the write position as written.
    @inline(__always)
    public func advance(by byteCount: Int) {
        precondition(byteCount >= 0 && count + byteCount <= capacity, "JSONOutputBuffer: advance past capacity")
        count += byteCount
    }

    private func grow(toFit byteCount: Int) {
        var newCapacity = capacity * 2
        while newCapacity - count < byteCount { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// The written bytes as an array, leaving the buffer empty (capacity kept).
    public func takeBytes() -> [UInt8] {
        let bytes = Array(UnsafeBufferPointer(start: base, count: count))
        count = 0
        return bytes
    }

    /// The first `byteCount` written bytes as an array; the rest moves to the front.
    public func takeBytes(upTo byteCount: Int) -> [UInt8] {
        let taken = Swift.min(byteCount, count)
        let bytes = Array(UnsafeBufferPointer(start: base, count: taken))
        (base).update(from: base + taken, count: count - taken)
        count -= taken
        return bytes
    }

    /// Forgets the written bytes.
    public func removeAll() { count = 0 }

    // MARK: - Appending

    @inline(__always)
    public func append(_ byte: UInt8) {
        reserve(1).pointee = byte
        count += 1
    }

    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        UnsafeMutableRawPointer(reserve(bytes.count)).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    public func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Appends ASCII text verbatim (keys, punctuation: no escaping).
    public func append(raw text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `text` as a JSON string literal, quotes included; escapes `"`, `\` and control characters.
    public func append(string text: String) {
        var text = text
        text.withUTF8 { utf8 in
            let destination = reserve(utf8.count * 6 + 2)
            var position = 0
            destination[position] = UInt8(ascii: "\""); position += 1
            for byte in utf8 {
                if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                    destination[position] = byte; position += 1
                    continue
                }
                destination[position] = UInt8(ascii: "\\")
                switch byte {
                case UInt8(ascii: "\""): destination[position + 1] = UInt8(ascii: "\""); position += 2
                case UInt8(ascii: "\\"): destination[position + 1] = UInt8(ascii: "\\"); position += 2
                case UInt8(ascii: "\n"): destination[position + 1] = UInt8(ascii: "n"); position += 2
                case UInt8(ascii: "\r"): destination[position + 1] = UInt8(ascii: "r"); position += 2
                case UInt8(ascii: "\t"): destination[position + 1] = UInt8(ascii: "t"); position += 2
                default:
                    let hex: StaticString = "0123456789abcdef"
                    destination[position + 1] = UInt8(ascii: "u")
                    destination[position + 2] = UInt8(ascii: "0")
                    destination[position + 3] = UInt8(ascii: "0")
                    destination[position + 4] = hex.utf8Start[Int(byte >> 4)]
                    destination[position + 5] = hex.utf8Start[Int(byte & 0xF)]
                    position += 6
                }
            }
            destination[position] = UInt8(ascii: "\""); position += 1
            count += position
        }
    }

    /// Appends the decimal digits of `value`.
    public func append(integer value: Int) {
        let destination = reserve(24)
        count += JSONNumberFormat.write(Int64(value), to: destination)
    }

    /// Appends the shortest round-trip form of finite `value` (`JSONNumberFormat`).
    public func append(float value: Float) {
        let destination = reserve(JSONNumberFormat.maximumFloatLength + JSONNumberFormat.scratchLength)
        count += JSONNumberFormat.write(value, to: destination)
    }

    /// Appends a finite double (timings, metadata — not tensor data) in Swift's shortest form,
    /// rewritten to the float layout's rules where they differ (`1e-05` → `1e-5`, `1e+16` → `1e16`).
    public func append(double value: Double) {
        precondition(value.isFinite, "JSONOutputBuffer: \(value) has no JSON number form")
        var text = value.description
        if let e = text.firstIndex(of: "e") {
            var exponent = String(text[text.index(after: e)...])
            var negative = false
            if exponent.hasPrefix("+") { exponent.removeFirst() }
            if exponent.hasPrefix("-") { exponent.removeFirst(); negative = true }
            while exponent.count > 1 && exponent.hasPrefix("0") { exponent.removeFirst() }
            text = String(text[...e]) + (negative ? "-" : "") + exponent
        }
        append(Array(text.utf8))
    }

    /// Appends `[a,b,c]` of integers (shapes).
    public func append(integers values: [Int]) {
        append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { append(UInt8(ascii: ",")) }
            append(integer: value)
        }
        append(UInt8(ascii: "]"))
    }
}
