/// Why an image could not be decoded or preprocessed. Every case says what was wrong with the
/// input; none of them is a crash.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The data has no bytes.
    case empty
    /// The bytes are not JPEG or PNG; `detected` names a recognised other format, or shows the first bytes.
    case unsupportedFormat(detected: String)
    /// The header declares a width or height of zero.
    case invalidDimensions(format: ImageFormat, width: Int, height: Int)
    /// The header declares more pixels than the decoder accepts (decompression-bomb guard).
    case tooLarge(format: ImageFormat, width: Int, height: Int, maximumPixels: Int)
    /// The data ends before the image does.
    case truncated(format: ImageFormat, message: String)
    /// The codec rejected the data (bad marker, bad CRC, bad Huffman table, …).
    case corrupt(format: ImageFormat, message: String)
    /// A valid file of a kind this decoder does not convert to RGB (e.g. a 12-bit JPEG).
    case unsupportedVariant(format: ImageFormat, message: String)
    /// The image tensor handed to preprocessing is not uint8 or float32 [height, width, 3].
    case invalidImageTensor(shape: [Int], dtype: String)
    /// A preprocessing configuration value is out of range; `key` is its JSON key.
    case invalidConfiguration(key: String, reason: String)

    public var description: String {
        switch self {
        case .empty:
            return "image data is empty"
        case .unsupportedFormat(let detected):
            return "unsupported image format (\(detected)); expected JPEG or PNG"
        case .invalidDimensions(let format, let width, let height):
            return "\(format.name) declares invalid dimensions \(width)×\(height)"
        case .tooLarge(let format, let width, let height, let maximumPixels):
            return "\(format.name) of \(width)×\(height) = \(width * height) pixels exceeds the limit of \(maximumPixels) pixels"
        case .truncated(let format, let message):
            return "\(format.name) data is truncated: \(message)"
        case .corrupt(let format, let message):
            return "corrupt \(format.name): \(message)"
        case .unsupportedVariant(let format, let message):
            return "unsupported \(format.name): \(message)"
        case .invalidImageTensor(let shape, let dtype):
            return "image tensor must be uint8 or float32 [height, width, 3], got \(dtype) \(shape)"
        case .invalidConfiguration(let key, let reason):
            return "invalid image preprocessing setting \"\(key)\": \(reason)"
        }
    }
}
