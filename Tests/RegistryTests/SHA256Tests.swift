import Foundation
import Testing
@testable import Registry

@Suite struct SHA256Tests {
    /// FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf").
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func standardVectors(message: String, digest: String) {
        #expect(SHA256.hexString(SHA256.hash(Array(message.utf8))) == digest)
    }

    @Test func oneMillionLetterA() {
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        #expect(SHA256.hexString(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Lengths around the padding boundaries (55, 56, 63, 64, 119, 120, …) against the textbook twin.
    @Test func matchesNaiveReferenceForEveryLengthUpTo300() {
        for length in 0...300 {
            let bytes = testBytes(count: length, seed: UInt64(length) + 1)
            #expect(SHA256.hash(bytes) == naiveSHA256(bytes), "length \(length)")
        }
    }

    @Test(arguments: [1, 3, 63, 64, 65, 1000])
    func streamingInChunksMatchesOneShot(chunkSize: Int) {
        let bytes = testBytes(count: 10_007, seed: 42)
        var hasher = SHA256()
        var offset = 0
        while offset < bytes.count {
            hasher.update(Array(bytes[offset..<min(offset + chunkSize, bytes.count)]))
            offset += chunkSize
        }
        #expect(hasher.finalize() == naiveSHA256(bytes))
    }

    @Test func hexStringIsLowercaseAndSixtyFourDigits() {
        let text = SHA256.hexString(SHA256.hash([0xff]))
        #expect(text.count == 64)
        #expect(text == text.lowercased())
    }
}

// MARK: - Reference twin

/// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
let naiveRoundConstants: [UInt32] = {
    let primes = (2...311).filter { n in (2..<n).allSatisfy { n % $0 != 0 } }
    return primes.map { prime in
        let root = pow(Double(prime), 1.0 / 3.0)
        return UInt32((root - root.rounded(.down)) * 4_294_967_296.0)
    }
}()

/// SHA-256 straight from FIPS 180-4 §6.2.2: padding into one array, a 64-word schedule, eight
/// variables shifted every round. Slow and obviously correct.
func naiveSHA256(_ message: [UInt8]) -> [UInt8] {
    let k = naiveRoundConstants
    func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
    var hash: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    var padded = message + [0x80]
    while padded.count % 64 != 56 { padded.append(0) }
    let bits = UInt64(message.count) * 8
    for shift in stride(from: 56, through: 0, by: -8) { padded.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    for block in stride(from: 0, to: padded.count, by: 64) {
        var w = [UInt32](repeating: 0, count: 64)
        for t in 0..<16 {
            w[t] = (0..<4).reduce(0) { ($0 << 8) | UInt32(padded[block + 4 * t + $1]) }
        }
        for t in 16..<64 {
            let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
            let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
        }
        var v = hash
        for t in 0..<64 {
            let t1 = v[7] &+ (rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25)) &+ ((v[4] & v[5]) ^ (~v[4] & v[6])) &+ k[t] &+ w[t]
            let t2 = (rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22)) &+ ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]))
            v = [t1 &+ t2, v[0], v[1], v[2], v[3] &+ t1, v[4], v[5], v[6]]
        }
        for i in 0..<8 { hash[i] = hash[i] &+ v[i] }
    }
    return hash.flatMap { word in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: word >> UInt32($0)) } }
}
