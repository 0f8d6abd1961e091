import Foundation
import Testing
import Tensors
import TestSupport
@testable import Models

@Suite struct ImagePreprocessingTests {
    // MARK: - Parity with torchvision

    /// torchvision's resize (antialiased bilinear on float), center crop and normalize, from Pillow's
    /// decoded pixels of the same file.
    @Test(arguments: ImageFixtures.cases)
    func matchesTorchvision(testCase: ImageFixtures.PreprocessingCase) throws {
        let configuration = try JSONDecoder().decode(ImagePreprocessing.Configuration.self,
                                                     from: ImageFixtures.configurationData(of: testCase.name))
        let preprocessing = try ImagePreprocessing(configuration: configuration)
        let rgb = try ImageFixtures.expected.tensor(testCase.image + "/rgb")
        var output = try preprocessing(rgb)
        if let stride = testCase.stride {
            let shape = output.shape
            let values = output.toArray()
            var sampled: [Float] = []
            for c in 0..<3 {
                for y in Swift.stride(from: 0, to: shape[2], by: stride) {
                    for x in Swift.stride(from: 0, to: shape[3], by: stride) { sampled.append(values[(c * shape[2] + y) * shape[3] + x]) }
                }
            }
            output = Tensor(shape: [1, 3, (shape[2] + stride - 1) / stride, (shape[3] + stride - 1) / stride], scalars: sampled)
        }
        let expected = try ImageFixtures.expected.tensor(testCase.name + "/pixels")
        let gap = try #require(difference(output, expected), "shape \(output.shape) vs \(expected.shape)")
        // The issue asks for 1e-4; measured ≤ 8e-7 (float rounding order), so hold it to 1e-5.
        #expect(gap.maxAbsoluteError <= 1e-5, "\(testCase.name): \(gap)")
    }

    /// The whole path from the file's bytes, through our decoder, for the JPEG case as well.
    @Test func decodesAndPreprocessesFileBytes() throws {
        let configuration = try JSONDecoder().decode(ImagePreprocessing.Configuration.self,
                                                     from: ImageFixtures.configurationData(of: "jpeg_downscale"))
        let output = try ImagePreprocessing(configuration: configuration)(imageData: ImageFixtures.data("ycbcr420_45x33.jpg"))
        let expected = try ImageFixtures.expected.tensor("jpeg_downscale/pixels")
        let gap = try #require(difference(output, expected))
        #expect(gap.maxAbsoluteError <= 1e-5, "\(gap)")
    }

    // MARK: - Geometry

    @Test(arguments: [
        // (height, width, shorter side, expected height, expected width): torchvision's arithmetic.
        (375, 500, 256, 256, 341),
        (500, 375, 256, 341, 256),
        (480, 640, 224, 224, 298),
        (256, 256, 256, 256, 256),
        (100, 333, 50, 50, 166),
        (7, 3, 256, 597, 256),
    ])
    func resizedSizeFollowsTorchvision(height: Int, width: Int, size: Int, expectedHeight: Int, expectedWidth: Int) throws {
        let preprocessing = try ImagePreprocessing(configuration: .init(resize: .shorterSide(size)))
        let resized = preprocessing.resizedSize(height: height, width: width)
        #expect(resized.height == expectedHeight && resized.width == expectedWidth)
    }

    @Test(arguments: [
        // (size, crop, offset): int(round((size - crop) / 2)) with round half to even; padding when negative.
        (256, 224, 16), (257, 224, 16), (259, 224, 18), (225, 224, 0), (227, 224, 2), (224, 224, 0),
        (23, 30, -3), (22, 30, -4), (1, 4, -1),
    ])
    func cropOffsetRoundsHalfToEven(size: Int, crop: Int, offset: Int) {
        #expect(ImagePreprocessing.cropOffset(size: size, crop: crop) == offset)
    }

    @Test func constantImageStaysConstant() throws {
        let image = Tensor(shape: [41, 29, 3], elements: [UInt8](repeating: 200, count: 41 * 29 * 3))
        let output = try ImagePreprocessing(configuration: .init(resize: .shorterSide(13), cropSize: .init(height: 11, width: 11),
                                                                  mean: [0, 0, 0], std: [1, 1, 1]))(image)
        #expect(output.shape == [1, 3, 11, 11])
        #expect(output.toArray().allSatisfy { abs($0 - 200.0 / 255.0) < 1e-6 })
    }

    // MARK: - Configuration

    @Test func defaultsAreTorchvisionImageNet() throws {
        let configuration = try JSONDecoder().decode(ImagePreprocessing.Configuration.self, from: Data(#"{"resize_size": 256, "crop_size": 224}"#.utf8))
        #expect(configuration == .imageNet)
        #expect(configuration.mean == [0.485, 0.456, 0.406] && configuration.std == [0.229, 0.224, 0.225])
        let output = try ImagePreprocessing(configuration: configuration)(Tensor(zeros: [300, 400, 3], dtype: .uint8))
        #expect(output.shape == [1, 3, 224, 224])
    }

    @Test func decodesHuggingFaceImageProcessorKeys() throws {
        let json = #"""
        {"do_resize": true, "size": {"shortest_edge": 256}, "do_center_crop": true, "crop_size": {"height": 224, "width": 224},
         "do_rescale": true, "rescale_factor": 0.00392156862745098, "do_normalize": true,
         "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2}
        """#
        let configuration = try JSONDecoder().decode(ImagePreprocessing.Configuration.self, from: Data(json.utf8))
        #expect(configuration == .init(resize: .shorterSide(256), cropSize: .init(height: 224, width: 224),
                                       rescaleFactor: 0.00392156862745098, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]))
        let exact = try JSONDecoder().decode(ImagePreprocessing.Configuration.self,
                                             from: Data(#"{"size": {"height": 384, "width": 384}, "do_normalize": false}"#.utf8))
        #expect(exact == .init(resize: .exact(height: 384, width: 384), mean: [0, 0, 0], std: [1, 1, 1]))
    }

    @Test(arguments: [
        (#"{"resize_size": "big"}"#, "resize_size"),
        (#"{"resize_size": 0}"#, "resize_size"),
        (#"{"size": {"longest_edge": 3}}"#, "size"),
        (#"{"crop_size": [1, 2, 3]}"#, "crop_size"),
        (#"{"crop_size": -4}"#, "crop_size"),
        (#"{"mean": [0.5, 0.5]}"#, "mean"),
        (#"{"mean": "imagenet"}"#, "mean"),
        (#"{"std": [1, 0, 1]}"#, "std"),
        (#"{"rescale_factor": -1}"#, "rescale_factor"),
    ])
    func invalidSettingsNameTheirKey(json: String, key: String) {
        #expect {
            let configuration = try JSONDecoder().decode(ImagePreprocessing.Configuration.self, from: Data(json.utf8))
            _ = try ImagePreprocessing(configuration: configuration)
        } throws: { error in
            guard case ImageError.invalidConfiguration(let errorKey, _) = error else { return false }
            return errorKey == key
        }
    }

    @Test func rejectsImagesThatAreNotRGBBytes() throws {
        let preprocessing = try ImagePreprocessing()
        #expect(throws: ImageError.invalidImageTensor(shape: [4, 4, 3], dtype: "float32")) { try preprocessing(Tensor(zeros: [4, 4, 3])) }
        #expect(throws: ImageError.invalidImageTensor(shape: [4, 4], dtype: "uint8")) { try preprocessing(Tensor(zeros: [4, 4], dtype: .uint8)) }
        #expect(throws: ImageError.invalidImageTensor(shape: [0, 4, 3], dtype: "uint8")) { try preprocessing(Tensor(zeros: [0, 4, 3], dtype: .uint8)) }
    }
}

// MARK: - Throughput

/// Decode + ImageNet preprocessing time of one JPEG, for comparison with
/// `scripts/bench_image_preprocessing.py`. Runs only when asked:
/// `PERISCOPE_IMAGE_BENCH=photo.jpg swift test -c release -Xswiftc -enable-testing --filter ImagePreprocessingTests/imageThroughput`.
extension ImagePreprocessingTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PERISCOPE_IMAGE_BENCH"] != nil))
    func imageThroughput() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: ProcessInfo.processInfo.environment["PERISCOPE_IMAGE_BENCH"]!))
        let decoder = ImageDecoder()
        let preprocessing = try ImagePreprocessing(configuration: .imageNet)
        let image = try decoder.decode(data)
        func median(_ body: () throws -> Void) rethrows -> Double {
            var times: [Double] = []
            for _ in 0..<21 {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            return times.sorted()[times.count / 2]
        }
        let decode = try median { _ = try decoder.decode(data) }
        let preprocess = try median { _ = try preprocessing(image) }
        let reference = try median { _ = try preprocessing.reference(image) }
        #expect(image.shape[2] == 3)
        print("image throughput \(image.shape): decode \(String(format: "%.2f", decode)) ms, preprocess 256/224 "
              + "\(String(format: "%.2f", preprocess)) ms (naive full-image reference \(String(format: "%.2f", reference)) ms)")
    }
}
