import Foundation
import Testing
import Tensors
import TestSupport
@testable import Models

/// CRC-32 (PNG chunks), to build valid-but-hostile PNG headers.
private func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

private func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
}

/// A copy of a PNG whose IHDR declares `width` × `height`, with a correct CRC.
private func pngDeclaring(width: UInt32, height: UInt32, from png: [UInt8]) -> [UInt8] {
    var bytes = png
    // Signature (8), IHDR length (4), "IHDR" (4), then width and height.
    bytes.replaceSubrange(16..<20, with: bigEndian(width))
    bytes.replaceSubrange(20..<24, with: bigEndian(height))
    let crc = crc32(bytes[12..<29])
    bytes.replaceSubrange(29..<33, with: bigEndian(crc))
    return bytes
}

/// A copy of a JPEG whose frame header (SOF0/1/2) declares `width` × `height`.
private func jpegDeclaring(width: UInt16, height: UInt16, from jpeg: [UInt8]) -> [UInt8] {
    var bytes = jpeg
    var index = 2
    while index + 9 < bytes.count {
        guard bytes[index] == 0xFF else { index += 1; continue }
        let marker = bytes[index + 1]
        let length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
        if marker == 0xC0 || marker == 0xC1 || marker == 0xC2 {
            bytes[index + 5] = UInt8(height >> 8); bytes[index + 6] = UInt8(height & 0xFF)
            bytes[index + 7] = UInt8(width >> 8); bytes[index + 8] = UInt8(width & 0xFF)
            return bytes
        }
        index += 2 + length
    }
    Issue.record("no SOF marker found")
    return bytes
}

@Suite struct ImageDecoderTests {
    let decoder = ImageDecoder()

    // MARK: - Parity with Pillow

    /// Every fixture decodes to exactly the RGB bytes Pillow's `convert("RGB")` produced (the JPEGs
    /// through Pillow's own libjpeg-turbo build, so this also checks the two builds agree).
    @Test(arguments: ImageFixtures.files)
    func decodesLikePillow(file: String) throws {
        let image = try decoder.decode(ImageFixtures.data(file))
        let expected = try ImageFixtures.expected.tensor(file + "/rgb")
        #expect(image.dtype == .uint8)
        #expect(image.shape == expected.shape)
        guard image.shape == expected.shape else { return }
        let actual = image.withUnsafeBufferPointer(as: UInt8.self) { Array($0) }
        let reference = expected.withUnsafeBufferPointer(as: UInt8.self) { Array($0) }
        let differing = zip(actual, reference).filter { $0 != $1 }.count
        let worst = zip(actual, reference).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(differing == 0, "\(file): \(differing) of \(actual.count) bytes differ, by up to \(worst)")
    }

    @Test(arguments: [
        ("rgb8_37x23.png", ImageFormat.png, 37, 23, 3, 8, false),
        ("gray1_13x11.png", .png, 13, 11, 1, 1, false),
        ("rgba16_11x9.png", .png, 11, 9, 4, 16, false),
        ("interlaced_rgb8_23x19.png", .png, 23, 19, 3, 8, true),
        ("palette4_14x15.png", .png, 14, 15, 1, 4, false),
        ("ycbcr420_45x33.jpg", .jpeg, 45, 33, 3, 8, false),
        ("ycbcr422_progressive_41x29.jpg", .jpeg, 41, 29, 3, 8, true),
        ("gray_27x21.jpg", .jpeg, 27, 21, 1, 8, false),
        ("cmyk_24x18.jpg", .jpeg, 24, 18, 4, 8, false),
    ])
    func readsHeaders(file: String, format: ImageFormat, width: Int, height: Int, components: Int, bitDepth: Int, interlaced: Bool) throws {
        let header = try decoder.readHeader(ImageFixtures.data(file))
        #expect(header == ImageDecoder.Header(format: format, width: width, height: height, components: components,
                                              bitDepth: bitDepth, isInterlaced: interlaced))
    }

    @Test func detectsFormatsByMagicBytes() throws {
        #expect(ImageDecoder.format(of: try ImageFixtures.data("rgb8_37x23.png")) == .png)
        #expect(ImageDecoder.format(of: try ImageFixtures.data("gray_27x21.jpg")) == .jpeg)
        #expect(ImageDecoder.format(of: Array("GIF89a".utf8)) == nil)
        #expect(ImageDecoder.format(of: [UInt8]()) == nil)
    }

    // MARK: - Bad input is an error, never a crash

    @Test func emptyDataIsAnError() {
        #expect(throws: ImageError.empty) { try decoder.decode(Data()) }
    }

    @Test(arguments: [
        (Array("GIF89a\u{1}\u{0}\u{1}\u{0}".utf8), "GIF"),
        (Array("BM6\u{0}\u{0}\u{0}".utf8), "BMP"),
        (Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 ".utf8), "WebP"),
        (Array("%PDF-1.7".utf8), "PDF"),
        ([0x01, 0x02, 0x03], "unknown, first bytes 01 02 03"),
    ])
    func otherFormatsAreNamed(bytes: [UInt8], name: String) {
        #expect(throws: ImageError.unsupportedFormat(detected: name)) { try decoder.decode(bytes) }
    }

    @Test(arguments: 0..<8)
    func randomBytesAreRejected(seed: Int) {
        var generator = SeededGenerator(seed: UInt64(seed) + 1)
        let count = Int.random(in: 1...4096, using: &generator)
        var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
        // Half of them pretend to be a JPEG or a PNG so that the codecs see the garbage.
        switch seed % 4 {
        case 1: bytes.replaceSubrange(0..<min(3, bytes.count), with: [0xFF, 0xD8, 0xFF])
        case 3: bytes.replaceSubrange(0..<min(8, bytes.count), with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        default: if bytes.first == 0xFF || bytes.first == 0x89 { bytes[0] = 0 }
        }
        #expect(throws: ImageError.self) { try decoder.decode(bytes) }
    }

    /// Cut anywhere (inside the header, the scan data or just before the end marker): an error that
    /// says the data is truncated, except a JPEG cut right before its EOI marker, which still has every row.
    @Test(arguments: ["ycbcr420_45x33.jpg", "ycbcr422_progressive_41x29.jpg", "cmyk_24x18.jpg", "rgb8_37x23.png",
                      "interlaced_rgb8_23x19.png", "palette_trns_33x19.png"])
    func truncatedFilesAreErrors(file: String) throws {
        let bytes = [UInt8](try ImageFixtures.data(file))
        let format = try #require(ImageDecoder.format(of: bytes))
        for fraction in [0.02, 0.1, 0.3, 0.5, 0.7, 0.9] {
            let cut = Array(bytes.prefix(max(9, Int(Double(bytes.count) * fraction))))
            do {
                _ = try decoder.decode(cut)
                Issue.record("\(file) cut to \(cut.count) of \(bytes.count) bytes decoded")
            } catch let error as ImageError {
                guard case .truncated(let errorFormat, _) = error else {
                    Issue.record("\(file) cut to \(cut.count) bytes: \(error), expected truncated")
                    continue
                }
                #expect(errorFormat == format)
            }
        }
    }

    @Test func pngWithBadHeaderChecksumIsCorrupt() throws {
        var bytes = [UInt8](try ImageFixtures.data("rgb8_37x23.png"))
        bytes[30] ^= 0x55  // inside IHDR's CRC
        #expect {
            try decoder.decode(bytes)
        } throws: { error in
            guard case ImageError.corrupt(.png, let message) = error else { return false }
            return message.contains("CRC")
        }
    }

    @Test func pngWithCorruptPixelDataIsCorrupt() throws {
        var bytes = [UInt8](try ImageFixtures.data("photo_64x48.png"))
        // Flip bits in the middle of the IDAT payload: its CRC no longer matches.
        bytes[bytes.count / 2] ^= 0xFF
        #expect(throws: ImageError.self) { try decoder.decode(bytes) }
    }

    @Test(arguments: [(UInt32(0), UInt32(23)), (37, 0), (0, 0)])
    func pngWithZeroDimensionIsCorrupt(width: UInt32, height: UInt32) throws {
        let bytes = pngDeclaring(width: width, height: height, from: [UInt8](try ImageFixtures.data("rgb8_37x23.png")))
        #expect {
            try decoder.decode(bytes)
        } throws: { error in
            // libpng warns "Image width is zero in IHDR", then fails with "Invalid IHDR data".
            guard case ImageError.corrupt(.png, let message) = error else { return false }
            return message.contains("IHDR")
        }
    }

    @Test(arguments: [(UInt16(0), UInt16(33)), (45, 0)])
    func jpegWithZeroDimensionIsCorrupt(width: UInt16, height: UInt16) throws {
        let bytes = jpegDeclaring(width: width, height: height, from: [UInt8](try ImageFixtures.data("ycbcr420_45x33.jpg")))
        #expect {
            try decoder.decode(bytes)
        } throws: { error in
            if case ImageError.corrupt(.jpeg, _) = error { return true }
            if case ImageError.invalidDimensions(.jpeg, _, _) = error { return true }
            return false
        }
    }

    /// A 100-byte file that declares billions of pixels is refused from its header: no allocation.
    @Test func hugeDeclaredDimensionsAreRefused() throws {
        let png = pngDeclaring(width: 200_000, height: 300_000, from: [UInt8](try ImageFixtures.data("rgb8_37x23.png")))
        #expect(throws: ImageError.tooLarge(format: .png, width: 200_000, height: 300_000, maximumPixels: ImageDecoder.defaultMaximumPixels)) {
            try decoder.decode(png)
        }
        let jpeg = jpegDeclaring(width: 65_000, height: 65_000, from: [UInt8](try ImageFixtures.data("gray_27x21.jpg")))
        #expect(throws: ImageError.tooLarge(format: .jpeg, width: 65_000, height: 65_000, maximumPixels: ImageDecoder.defaultMaximumPixels)) {
            try decoder.decode(jpeg)
        }
    }

    @Test func pixelLimitIsConfigurable() throws {
        let data = try ImageFixtures.data("rgb8_37x23.png")
        #expect(throws: ImageError.tooLarge(format: .png, width: 37, height: 23, maximumPixels: 850)) {
            try ImageDecoder(maximumPixels: 850).decode(data)
        }
        #expect(try ImageDecoder(maximumPixels: 851).decode(data).shape == [23, 37, 3])
    }

    /// Seeded byte flips in every fixture: each result is either an image of the declared size or an
    /// `ImageError` (the process surviving is the other half of the check).
    @Test(arguments: ImageFixtures.files)
    func mutatedFilesNeverCrash(file: String) throws {
        let original = [UInt8](try ImageFixtures.data(file))
        var generator = SeededGenerator(seed: file.utf8.reduce(77) { $0 &* 31 &+ UInt64($1) })
        var decoded = 0, rejected = 0
        for _ in 0..<60 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let index = Int.random(in: 2..<bytes.count, using: &generator)
                bytes[index] = UInt8.random(in: 0...255, using: &generator)
            }
            do {
                let image = try decoder.decode(bytes)
                #expect(image.rank == 3 && image.shape[2] == 3)
                decoded += 1
            } catch is ImageError {
                rejected += 1
            }
        }
        #expect(decoded + rejected == 60)
    }
}
