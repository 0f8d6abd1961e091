import Foundation
import Tensors

/// Turns a decoded RGB image into a model's input tensor: resize, center crop, rescale to [0, 1],
/// normalize with mean and std, as float32 [1, 3, height, width] (NCHW).
///
/// Semantics are torchvision's on a float tensor (`F.to_tensor` / `x.float() / 255`, then
/// `F.resize(x, size, BILINEAR, antialias=True)`, `F.center_crop`, `F.normalize`), checked against
/// PyTorch by the tests. Resizing is the antialiased bilinear filter of `interpolate(antialias=True)`
/// computed in float32 on [0, 1] values, not Pillow's uint8 `Image.resize(BILINEAR)` (which rounds
/// every intermediate to 8 bits and differs from it by up to about 1/255). Only the pixels inside the
/// crop window are computed.
public struct ImagePreprocessing: Sendable {
    public let configuration: Configuration

    /// Validates `configuration`; errors name the offending key.
    public init(configuration: Configuration = .imageNet) throws {
        try configuration.validate()
        self.configuration = configuration
    }

    // MARK: - Geometry

    /// Height and width after resizing an image of the given size (before cropping).
    public func resizedSize(height: Int, width: Int) -> (height: Int, width: Int) {
        switch configuration.resize {
        case nil:
            return (height, width)
        case .exact(let newHeight, let newWidth):
            return (newHeight, newWidth)
        case .shorterSide(let size):
            // torchvision `_compute_resized_output_size`: the longer side is int(size * long / short).
            let short = min(height, width), long = max(height, width)
            if short == size { return (height, width) }
            let newLong = Int(Double(size * long) / Double(short))
            return width <= height ? (newLong, size) : (size, newLong)
        }
    }

    /// The output's spatial size for an input image of the given size.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        if let crop = configuration.cropSize { return (crop.height, crop.width) }
        return resizedSize(height: height, width: width)
    }

    /// torchvision `center_crop`: offset int(round((size - crop) / 2)) with Python's round half to
    /// even; when the crop is larger, the image is zero-padded by (crop - size) // 2 before it.
    static func cropOffset(size: Int, crop: Int) -> Int {
        if crop > size { return -((crop - size) / 2) }
        let difference = size - crop
        let half = difference / 2
        return difference % 2 == 1 && half % 2 == 1 ? half + 1 : half
    }

    // MARK: - Processing

    /// Preprocesses a uint8 RGB image [height, width, 3] into float32 [1, 3, outHeight, outWidth].
    public func callAsFunction(_ image: Tensor) throws -> Tensor {
        try run(image, reference: false)
    }

    /// Decodes JPEG or PNG bytes and preprocesses them.
    public func callAsFunction(imageData: some ContiguousBytes, decoder: ImageDecoder = ImageDecoder()) throws -> Tensor {
        try self(decoder.decode(imageData))
    }

    /// The same result computed by the naive full-image reference (for tests).
    func reference(_ image: Tensor) throws -> Tensor {
        try run(image, reference: true)
    }

    private func run(_ image: Tensor, reference: Bool) throws -> Tensor {
        guard image.dtype == .uint8, image.rank == 3, image.shape[2] == 3, image.shape[0] > 0, image.shape[1] > 0 else {
            throw ImageError.invalidImageTensor(shape: image.shape, dtype: image.dtype.rawValue)
        }
        let height = image.shape[0], width = image.shape[1]
        let resized = resizedSize(height: height, width: width)
        let output = outputSize(height: height, width: width)
        let top = Self.cropOffset(size: resized.height, crop: output.height)
        let left = Self.cropOffset(size: resized.width, crop: output.width)
        let factor = configuration.rescaleFactor
        let lookup = (0..<256).map { Float(Double($0) * factor) }
        let mean = (configuration.mean[0], configuration.mean[1], configuration.mean[2])
        let std = (configuration.std[0], configuration.std[1], configuration.std[2])
        var result = Tensor(uninitializedShape: [1, 3, output.height, output.width])
        result.withMutableFloats { out in
            image.withUnsafeBufferPointer(as: UInt8.self) { pixels in
                lookup.withUnsafeBufferPointer { lookup in
                    let kernel = reference ? resizeCropNormalizeReference : resizeCropNormalize
                    kernel(out.baseAddress!, pixels.baseAddress!, height, width, resized.height, resized.width,
                           top, left, output.height, output.width, lookup.baseAddress!, mean, std)
                }
            }
        }
        return result
    }
}
