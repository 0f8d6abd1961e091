import CImageShims
import Foundation
import Tensors

/// Decodes JPEG and PNG data into 8-bit RGB pixels, a uint8 tensor [height, width, 3].
///
/// The codecs are the system's libjpeg-turbo and libpng, called through the `CImageShims` C target,
/// which catches their fatal errors with setjmp so that a corrupt, truncated or hostile file becomes an
/// `ImageError` instead of ending the process. The format comes from the magic bytes, never from a name
/// or MIME type. The declared size is checked against `maximumPixels` before any pixel buffer is
/// allocated, so a tiny file that claims to be 60000 × 60000 costs nothing.
///
/// Conversions follow what Pillow's `Image.open(f).convert("RGB")` returns for the same file (and the
/// tests check it byte for byte): grayscale is replicated; palette entries are looked up; alpha and
/// tRNS transparency are dropped, not composited; 16-bit PNG samples keep their high byte; CMYK JPEGs
/// are read with Adobe's inverted polarity. EXIF orientation is not applied (neither Pillow's `open`
/// nor torchvision's `decode_jpeg` apply it by default).
public struct ImageDecoder: Sendable {
    /// 40 megapixels: an 8000 × 5000 photo decodes, a decompression bomb does not.
    public static let defaultMaximumPixels = 40_000_000

    /// The largest width × height accepted.
    public var maximumPixels: Int

    public init(maximumPixels: Int = ImageDecoder.defaultMaximumPixels) {
        precondition(maximumPixels > 0, "ImageDecoder: maximumPixels must be positive")
        self.maximumPixels = maximumPixels
    }

    /// What an image header declares.
    public struct Header: Sendable, Equatable {
        public var format: ImageFormat
        public var width: Int
        public var height: Int
        /// Components stored in the file: 1 gray, 2 gray + alpha, 3 colour, 4 colour + alpha or CMYK.
        public var components: Int
        public var bitDepth: Int
        /// Adam7 interlacing (PNG) or progressive coding (JPEG).
        public var isInterlaced: Bool
    }

    // MARK: - Decoding

    /// The format of `data` from its magic bytes, or nil if it is neither JPEG nor PNG.
    public static func format(of data: some ContiguousBytes) -> ImageFormat? {
        data.withUnsafeBytes { ImageFormat(signatureOf: $0) }
    }

    /// Reads the header only, validating the format, the dimensions and the pixel limit.
    public func readHeader(_ data: some ContiguousBytes) throws -> Header {
        try data.withUnsafeBytes { try readHeader(bytes: $0) }
    }

    /// Decodes the whole image into a uint8 tensor [height, width, 3].
    public func decode(_ data: some ContiguousBytes) throws -> Tensor {
        try data.withUnsafeBytes { try decode(bytes: $0) }
    }

    func readHeader(bytes: UnsafeRawBufferPointer) throws -> Header {
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw ImageError.empty }
        guard let format = ImageFormat(signatureOf: bytes) else {
            throw ImageError.unsupportedFormat(detected: ImageFormat.describeUnsupported(bytes))
        }
        var info = periscope_image_info()
        let pointer = base.assumingMemoryBound(to: UInt8.self)
        let status: Int32
        switch format {
        case .jpeg: status = periscope_jpeg_read_header(pointer, bytes.count, &info)
        case .png: status = periscope_png_read_header(pointer, bytes.count, &info)
        }
        try Self.check(status, info: info, format: format)
        let header = Header(format: format, width: Int(info.width), height: Int(info.height),
                            components: Int(info.components), bitDepth: Int(info.bit_depth),
                            isInterlaced: info.interlaced != 0)
        guard header.width > 0, header.height > 0 else {
            throw ImageError.invalidDimensions(format: format, width: header.width, height: header.height)
        }
        // Compare without multiplying first: both sides stay far from overflow.
        guard header.width <= maximumPixels / header.height else {
            throw ImageError.tooLarge(format: format, width: header.width, height: header.height, maximumPixels: maximumPixels)
        }
        return header
    }

    func decode(bytes: UnsafeRawBufferPointer) throws -> Tensor {
        let header = try readHeader(bytes: bytes)
        let pointer = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var image = Tensor(uninitializedShape: [header.height, header.width, 3], dtype: .uint8)
        var info = periscope_image_info()
        let status = image.withUnsafeMutableBufferPointer(as: UInt8.self) { output -> Int32 in
            switch header.format {
            case .jpeg: return periscope_jpeg_decode_rgb(pointer, bytes.count, output.baseAddress, output.count, &info)
            case .png: return periscope_png_decode_rgb(pointer, bytes.count, output.baseAddress, output.count, &info)
            }
        }
        try Self.check(status, info: info, format: header.format)
        return image
    }

    // MARK: - Errors

    private static func check(_ status: Int32, info: periscope_image_info, format: ImageFormat) throws {
        let message = withUnsafeBytes(of: info.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        switch periscope_image_status(rawValue: UInt32(status)) {
        case PERISCOPE_IMAGE_OK:
            return
        case PERISCOPE_IMAGE_TRUNCATED:
            throw ImageError.truncated(format: format, message: message)
        case PERISCOPE_IMAGE_UNSUPPORTED:
            throw ImageError.unsupportedVariant(format: format, message: message)
        case PERISCOPE_IMAGE_BAD_BUFFER:
            preconditionFailure("ImageDecoder: \(message)")
        default:
            throw ImageError.corrupt(format: format, message: message)
        }
    }
}
