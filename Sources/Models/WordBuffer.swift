/// Words produced by pre-tokenization, stored back to back as UTF-8 in one buffer (no per-word
/// allocation). Word i is `bytes[range(of: i)]`, with `scalarCounts[i]` code points.
struct WordBuffer {
    private(set) var bytes: [UInt8] = []
    private(set) var ends: [Int] = []
    private(set) var scalarCounts: [Int] = []
    private var wordStart = 0
    private var scalarsInWord = 0

    var count: Int { ends.count }

    func range(of word: Int) -> Range<Int> {
        (word == 0 ? 0 : ends[word - 1])..<ends[word]
    }

    func string(at word: Int) -> String {
        String(decoding: bytes[range(of: word)], as: UTF8.self)
    }

    @inline(__always)
    mutating func appendASCII(_ byte: UInt8) {
        bytes.append(byte)
        scalarsInWord += 1
    }

    @inline(__always)
    mutating func append(_ scalar: Unicode.Scalar) {
        if scalar.value < 0x80 {
            bytes.append(UInt8(scalar.value))
        } else {
            UTF8.encode(scalar) { bytes.append($0) }
        }
        scalarsInWord += 1
    }

    /// Ends the current word, if it has any characters.
    @inline(__always)
    mutating func finishWord() {
        guard bytes.count > wordStart else { return }
        ends.append(bytes.count)
        scalarCounts.append(scalarsInWord)
        wordStart = bytes.count
        scalarsInWord = 0
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        scalarCounts.removeAll(keepingCapacity: true)
        wordStart = 0
        scalarsInWord = 0
    }
}
