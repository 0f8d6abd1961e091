// SHA-256 (FIPS 180-4, section 6.2) in portable Swift: streaming `update`/`finalize`.
//
// The compression function keeps the eight working variables and the 16-word rolling message
// schedule in locals, so the optimizer holds them in registers; each round is written out once
// by `round` and the loop over 64 rounds is unrolled by 16 via `withRounds`.

/// A streaming SHA-256 hasher: feed bytes with `update`, read the digest with `finalize`.
public struct SHA256: Sendable {
    private var h0: UInt32 = 0x6a09_e667, h1: UInt32 = 0xbb67_ae85, h2: UInt32 = 0x3c6e_f372, h3: UInt32 = 0xa54f_f53a
    private var h4: UInt32 = 0x510e_527f, h5: UInt32 = 0x9b05_688c, h6: UInt32 = 0x1f83_d9ab, h7: UInt32 = 0x5be0_cd19
    /// Bytes of an incomplete block carried to the next `update`.
    private var pending: [UInt8] = []
    private var byteCount: UInt64 = 0

    /// A hasher in the initial state.
    public init() { pending.reserveCapacity(64) }

    /// The SHA-256 of `bytes`.
    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(Array(bytes))
        return hasher.finalize()
    }

    /// The digest as 64 lowercase hex digits.
    public static func hexString(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(digest.count * 2)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Feeds `bytes`.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Feeds the bytes in `buffer`; whole blocks are compressed straight from it without copying.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard var base = buffer.baseAddress, buffer.count > 0 else { return }
        var remaining = buffer.count
        byteCount &+= UInt64(remaining)
        if !pending.isEmpty {
            let take = min(64 - pending.count, remaining)
            pending.append(contentsOf: UnsafeRawBufferPointer(start: base, count: take))
            base += take
            remaining -= take
            if pending.count < 64 { return }
            pending.withUnsafeBytes { compress($0.baseAddress!, blocks: 1) }
            pending.removeAll(keepingCapacity: true)
        }
        let blocks = remaining / 64
        if blocks > 0 {
            compress(base, blocks: blocks)
            base += blocks * 64
            remaining -= blocks * 64
        }
        if remaining > 0 { pending.append(contentsOf: UnsafeRawBufferPointer(start: base, count: remaining)) }
    }

    /// Pads the message and returns the 32-byte digest.
    public consuming func finalize() -> [UInt8] {
        let bitLength = byteCount &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        tail.withUnsafeBytes { compress($0.baseAddress!, blocks: $0.count / 64) }
        var digest: [UInt8] = []
        digest.reserveCapacity(32)
        for word in [h0, h1, h2, h3, h4, h5, h6, h7] {
            digest.append(contentsOf: [UInt8(word >> 24), UInt8(truncatingIfNeeded: word >> 16), UInt8(truncatingIfNeeded: word >> 8), UInt8(truncatingIfNeeded: word)])
        }
        return digest
    }

    // MARK: - Compression

    private mutating func compress(_ data: UnsafeRawPointer, blocks: Int) {
        var a0 = h0, b0 = h1, c0 = h2, d0 = h3, e0 = h4, f0 = h5, g0 = h6, k0 = h7
        for block in 0..<blocks {
            let p = data + block * 64
            @inline(__always) func load(_ i: Int) -> UInt32 { UInt32(bigEndian: p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)) }
            var w0 = load(0), w1 = load(1), w2 = load(2), w3 = load(3), w4 = load(4), w5 = load(5), w6 = load(6), w7 = load(7)
            var w8 = load(8), w9 = load(9), w10 = load(10), w11 = load(11), w12 = load(12), w13 = load(13), w14 = load(14), w15 = load(15)
            var a = a0, b = b0, c = c0, d = d0, e = e0, f = f0, g = g0, h = k0

            // Rounds 0–15 use the message words as loaded; rounds 16–63 extend the schedule in place
            // (w[t mod 16] += σ1(w[t-2]) + w[t-7] + σ0(w[t-15])) before using it.
            @inline(__always) func round(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
                                         _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32, _ k: UInt32, _ w: UInt32) {
                let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                let choose = (e & f) ^ (~e & g)
                let t1 = h &+ s1 &+ choose &+ k &+ w
                let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                let majority = (a & b) ^ (a & c) ^ (b & c)
                d = d &+ t1
                h = t1 &+ s0 &+ majority
            }
            @inline(__always) func extend(_ w: inout UInt32, _ w2: UInt32, _ w7: UInt32, _ w15: UInt32) {
                w = w &+ (rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10)) &+ w7 &+ (rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3))
            }
            // Sixteen rounds with the working variables rotating through the argument positions,
            // so no variable is ever copied between rounds.
            @inline(__always) func sixteen(_ t: Int) {
                round(a, b, c, &d, e, f, g, &h, sha256RoundConstants[t + 0], w0)
                round(h, a, b, &c, d, e, f, &g, sha256RoundConstants[t + 1], w1)
                round(g, h, a, &b, c, d, e, &f, sha256RoundConstants[t + 2], w2)
                round(f, g, h, &a, b, c, d, &e, sha256RoundConstants[t + 3], w3)
                round(e, f, g, &h, a, b, c, &d, sha256RoundConstants[t + 4], w4)
                round(d, e, f, &g, h, a, b, &c, sha256RoundConstants[t + 5], w5)
                round(c, d, e, &f, g, h, a, &b, sha256RoundConstants[t + 6], w6)
                round(b, c, d, &e, f, g, h, &a, sha256RoundConstants[t + 7], w7)
                round(a, b, c, &d, e, f, g, &h, sha256RoundConstants[t + 8], w8)
                round(h, a, b, &c, d, e, f, &g, sha256RoundConstants[t + 9], w9)
                round(g, h, a, &b, c, d, e, &f, sha256RoundConstants[t + 10], w10)
                round(f, g, h, &a, b, c, d, &e, sha256RoundConstants[t + 11], w11)
                round(e, f, g, &h, a, b, c, &d, sha256RoundConstants[t + 12], w12)
                round(d, e, f, &g, h, a, b, &c, sha256RoundConstants[t + 13], w13)
                round(c, d, e, &f, g, h, a, &b, sha256RoundConstants[t + 14], w14)
                round(b, c, d, &e, f, g, h, &a, sha256RoundConstants[t + 15], w15)
            }
            @inline(__always) func extendSixteen() {
                extend(&w0, w14, w9, w1); extend(&w1, w15, w10, w2); extend(&w2, w0, w11, w3); extend(&w3, w1, w12, w4)
                extend(&w4, w2, w13, w5); extend(&w5, w3, w14, w6); extend(&w6, w4, w15, w7); extend(&w7, w5, w0, w8)
                extend(&w8, w6, w1, w9); extend(&w9, w7, w2, w10); extend(&w10, w8, w3, w11); extend(&w11, w9, w4, w12)
                extend(&w12, w10, w5, w13); extend(&w13, w11, w6, w14); extend(&w14, w12, w7, w15); extend(&w15, w13, w8, w0)
            }
            sixteen(0)
            extendSixteen(); sixteen(16)
            extendSixteen(); sixteen(32)
            extendSixteen(); sixteen(48)

            a0 = a0 &+ a; b0 = b0 &+ b; c0 = c0 &+ c; d0 = d0 &+ d
            e0 = e0 &+ e; f0 = f0 &+ f; g0 = g0 &+ g; k0 = k0 &+ h
        }
        h0 = a0; h1 = b0; h2 = c0; h3 = d0; h4 = e0; h5 = f0; h6 = g0; h7 = k0
    }
}

@inline(__always) private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

/// K: the first 32 bits of the fractional parts of the cube roots of the first 64 primes.
private let sha256RoundConstants: [UInt32] = [
    0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
    0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
    0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
    0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
    0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
    0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
    0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
    0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
]
