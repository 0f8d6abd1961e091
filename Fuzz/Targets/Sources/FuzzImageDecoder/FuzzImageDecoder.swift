// Fuzz target: the image input path of the service (Sources/Models): `ImageDecoder` (libjpeg-turbo
// and libpng behind the setjmp shims in CImageShims) and `ImagePreprocessing`.
//
// The input is the image file. PNG chunk CRCs are recomputed before decoding (unless the input
// length is 7 mod 8, which keeps the bad-CRC paths reachable): libpng rejects a chunk whose CRC
// does not match, and a mutation almost never keeps it matching, so without the repair the fuzzer
// would rarely get past the first chunk. The pixel limit is small (512 × 512) so a decompression
// bomb is rejected before allocation instead of exhausting the fuzzer's memory limit. A decoded
// image is then preprocessed with one of four configurations (chosen by the input length), the
// shapes real models use scaled down. Findings: memory errors, traps, and broken contracts:
// - only `ImageError` is thrown;
// - `decode` succeeds only after `readHeader` succeeds, with the declared size, [height, width, 3] uint8;
// - the preprocessed tensor is float32 [1, 3, h, w] with `outputSize`, and finite.
import Foundation
import FuzzDriver
import Models
import Tensors

let decoder = ImageDecoder(maximumPixels: 512 * 512)

let preprocessors: [ImagePreprocessing] = [
    // ResNet-style: shorter side, then center crop.
    ImagePreprocessing.Configuration(resize: .shorterSide(32), cropSize: .init(height: 28, width: 28)),
    // ViT-style: exact size.
    ImagePreprocessing.Configuration(resize: .exact(height: 24, width: 24)),
    // No resize, a crop that pads small images.
    ImagePreprocessing.Configuration(cropSize: .init(height: 16, width: 16)),
    // Shorter side without a crop: the output follows the aspect ratio.
    ImagePreprocessing.Configuration(resize: .shorterSide(12), rescaleFactor: 1.0 / 127.5,
                                     mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]),
].map { try! ImagePreprocessing(configuration: $0) }

// MARK: - PNG CRC repair

let crcTable: [UInt32] = (0..<256).map { (index: UInt32) -> UInt32 in
    var value = index
    for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
    return value
}

/// Rewrites the CRC of every complete chunk after the PNG signature.
func repairPNGChunkCRCs(_ bytes: inout [UInt8]) {
    var position = 8
    while position + 12 <= bytes.count {
        let length = Int(bytes[position]) << 24 | Int(bytes[position + 1]) << 16 | Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
        let crcStart = position + 8 + length
        guard length <= bytes.count, crcStart + 4 <= bytes.count else { return }
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes[(position + 4)..<crcStart] { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        crc ^= 0xFFFF_FFFF
        bytes[crcStart] = UInt8(crc >> 24)
        bytes[crcStart + 1] = UInt8(crc >> 16 & 0xFF)
        bytes[crcStart + 2] = UInt8(crc >> 8 & 0xFF)
        bytes[crcStart + 3] = UInt8(crc & 0xFF)
        position = crcStart + 4
    }
}

// MARK: - Entry point

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var bytes = count > 0 ? [UInt8](UnsafeRawBufferPointer(start: start, count: count)) : []
    if ImageDecoder.format(of: bytes) == .png, count % 8 != 7 { repairPNGChunkCRCs(&bytes) }

    let header: ImageDecoder.Header
    do {
        header = try decoder.readHeader(bytes)
    } catch let error as ImageError {
        _ = "\(error)"
        do {
            _ = try decoder.decode(bytes)
            invariantFailure("decode succeeded where readHeader failed with \(error)")
        } catch is ImageError {
            return 0
        } catch {
            invariantFailure("error outside ImageError: \(error)")
        }
    } catch {
        invariantFailure("error outside ImageError: \(error)")
    }

    let image: Tensor
    do {
        image = try decoder.decode(bytes)
    } catch let error as ImageError {
        _ = "\(error)"
        return 0
    } catch {
        invariantFailure("error outside ImageError: \(error)")
    }
    guard image.dtype == .uint8, image.shape == [header.height, header.width, 3] else {
        invariantFailure("decoded \(image.shape) \(image.dtype) for header \(header)")
    }

    let preprocessing = preprocessors[count % preprocessors.count]
    let output: Tensor
    do {
        output = try preprocessing(image)
    } catch {
        invariantFailure("preprocessing a decoded image failed: \(error)")
    }
    let size = preprocessing.outputSize(height: header.height, width: header.width)
    guard output.dtype == .float32, output.shape == [1, 3, size.height, size.width] else {
        invariantFailure("preprocessed \(output.shape) for \(header.height)×\(header.width), expected \(size)")
    }
    output.withFloats { values in
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            invariantFailure("non-finite value \(values[bad]) at \(bad) after preprocessing \(header)")
        }
    }
    return 0
}
