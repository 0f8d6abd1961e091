/// A BPE merge table (`merges.txt` in rank order) over vocabulary ids, and GPT-2's byte alphabet
/// (each byte as a printable code point) that byte-level BPE spells its symbols in.
struct BytePairMerges: Sendable {
    /// (left id, right id) → (rank, merged id).
    private let table: [Int64: (rank: Int, id: Int32)]

    init(_ pairs: [(String, String)], ids: [String: Int32]) throws {
        var table: [Int64: (rank: Int, id: Int32)] = [:]
        for (rank, pair) in pairs.enumerated() {
            guard let left = ids[pair.0], let right = ids[pair.1], let merged = ids[pair.0 + pair.1] else {
                throw TokenizerError.invalidConfiguration(key: "merges", reason: "merge \(rank + 1) (\(pair.0) \(pair.1)) uses a token not in the vocabulary")
            }
            let key = Self.key(left, right)
            if table[key] == nil { table[key] = (rank, merged) }
        }
        self.table = table
    }

    private static func key(_ left: Int32, _ right: Int32) -> Int64 { Int64(left) << 32 | Int64(UInt32(bitPattern: right)) }

    /// Merges adjacent pieces by rank, lowest first (leftmost first among equals), until no merge
    /// applies; each piece keeps the positions of its first and last symbol.
    func apply(_ pieces: [(id: Int32, first: Int, last: Int)]) -> [(id: Int32, first: Int, last: Int)] {
        var pieces = pieces
        while pieces.count > 1 {
            var best: (rank: Int, index: Int, id: Int32)?
            for index in 0..<(pieces.count - 1) {
                if let merge = table[Self.key(pieces[index].id, pieces[index + 1].id)], merge.rank < best?.rank ?? Int.max {
                    best = (merge.rank, index, merge.id)
                }
            }
            guard let best else { break }
            let (left, right) = (pieces[best.index].id, pieces[best.index + 1].id)
            // Every occurrence of the pair, left to right (non-overlapping), as GPT-2's bpe does.
            var merged: [(id: Int32, first: Int, last: Int)] = []
            merged.reserveCapacity(pieces.count)
            var index = 0
            while index < pieces.count {
                if index + 1 < pieces.count && pieces[index].id == left && pieces[index + 1].id == right {
                    merged.append((best.id, pieces[index].first, pieces[index + 1].last))
                    index += 2
                } else {
                    merged.append(pieces[index])
                    index += 1
                }
            }
            pieces = merged
        }
        return pieces
    }

    /// GPT-2's `bytes_to_unicode`: printable bytes stand for themselves, the others for 256, 257, ….
    static let byteAlphabet: [Character] = {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var codes = printable
        var next = 0
        for byte in 0..<256 where !printable.contains(byte) {
            printable.append(byte)
            codes.append(256 + next)
            next += 1
        }
        var alphabet = [Character](repeating: " ", count: 256)
        for (byte, code) in zip(printable, codes) { alphabet[byte] = Character(Unicode.Scalar(UInt32(code))!) }
        return alphabet
    }()
}
