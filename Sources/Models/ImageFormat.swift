/// The encoded image formats the decoder reads, recognised by their magic bytes.
public enum ImageFormat: String, Sendable, Codable, CaseIterable {
    case jpeg
    case png

    /// The name used in messages.
    public var name: String {
        switch self {
        case .jpeg: return "JPEG"
        case .png: return "PNG"
        }
    }

    /// The format whose signature starts `bytes`, or nil.
    public init?(signatureOf bytes: some Collection<UInt8>) {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else {
            return nil
        }
    }

    /// A human-readable guess for bytes that are neither JPEG nor PNG, for error messages.
    static func describeUnsupported(_ bytes: some Collection<UInt8>) -> String {
        let known: [(prefix: [UInt8], name: String)] = [
            (Array("GIF8".utf8), "GIF"),
            (Array("BM".utf8), "BMP"),
            ([0x49, 0x49, 0x2A, 0x00], "TIFF"),
            ([0x4D, 0x4D, 0x00, 0x2A], "TIFF"),
            (Array("%PDF".utf8), "PDF"),
            ([0x00, 0x00, 0x01, 0x00], "ICO"),
        ]
        for entry in known where bytes.starts(with: entry.prefix) { return entry.name }
        if bytes.starts(with: Array("RIFF".utf8)), bytes.count >= 12, Array(bytes.dropFirst(8).prefix(4)) == Array("WEBP".utf8) {
            return "WebP"
        }
        if bytes.count >= 12, Array(bytes.dropFirst(4).prefix(4)) == Array("ftyp".utf8) {
            return "HEIF/AVIF or another ISO media file"
        }
        let head = bytes.prefix(8).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }
        return "unknown, first bytes " + head.joined(separator: " ")
    }
}
