import Testing
import Tensors
import TestSupport
@testable import Models

/// A random uint8 image [height, width, 3].
func randomImage(height: Int, width: Int, seed: UInt64) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    let pixels = (0..<(height * width * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
    return Tensor(shape: [height, width, 3], elements: pixels)
}

/// The antialiased resize kernels: the filter taps, and the fused crop-window kernel against its
/// naive full-image twin.
@Suite struct AntialiasedResizeTests {
    @Test(arguments: [(100, 37), (37, 100), (224, 224), (1000, 7), (5, 1), (99, 98)])
    func filterWeightsArePartitionsOfUnity(inputSize: Int, outputSize: Int) {
        let taps = antialiasedBilinearTaps(inputSize: inputSize, outputSize: outputSize, outputRange: 0..<outputSize)
        for i in 0..<outputSize {
            let weights = taps.weights[(i * taps.maximumTaps)..<(i * taps.maximumTaps + taps.counts[i])]
            #expect(abs(weights.reduce(0, +) - 1) < 1e-6)
            #expect(weights.allSatisfy { $0 >= 0 })
            #expect(taps.starts[i] >= 0 && taps.starts[i] + taps.counts[i] <= inputSize)
        }
        // Downscaling by s spreads each output over about 2s inputs: that is the antialiasing.
        if inputSize > outputSize {
            let scale = Double(inputSize) / Double(outputSize)
            #expect(taps.counts[outputSize / 2] >= min(inputSize, Int((2 * scale).rounded(.down))))
        }
    }

    @Test(arguments: [
        // (height, width, configuration)
        (31, 47, ImagePreprocessing.Configuration(resize: .shorterSide(12), cropSize: .init(height: 11, width: 9))),
        (64, 40, ImagePreprocessing.Configuration(resize: .shorterSide(100), cropSize: .init(height: 96, width: 80))),
        (50, 50, ImagePreprocessing.Configuration(resize: .exact(height: 7, width: 31))),
        (23, 37, ImagePreprocessing.Configuration(cropSize: .init(height: 30, width: 41))),
        (120, 17, ImagePreprocessing.Configuration(resize: .shorterSide(5), cropSize: .init(height: 40, width: 5))),
        (9, 300, ImagePreprocessing.Configuration(resize: .shorterSide(9), cropSize: .init(height: 9, width: 9))),
        (1, 1, ImagePreprocessing.Configuration(resize: .shorterSide(3), cropSize: .init(height: 4, width: 2))),
        (257, 193, ImagePreprocessing.Configuration.imageNet),
    ])
    func fastPathEqualsReference(height: Int, width: Int, configuration: ImagePreprocessing.Configuration) throws {
        let image = randomImage(height: height, width: width, seed: UInt64(height * 1000 + width))
        let preprocessing = try ImagePreprocessing(configuration: configuration)
        let fast = try preprocessing(image)
        let reference = try preprocessing.reference(image)
        #expect(fast.shape == reference.shape)
        #expect(fast.toArray() == reference.toArray())
    }

    /// The taps equal PyTorch's to the last bit: `interpolate(eye, antialias=True)` column by column
    /// (including the 6e-8 rounding residue PyTorch's float arithmetic leaves in 7 → 3).
    @Test(arguments: [
        (5, 2, [[0.3181818425655365, 0.40909093618392944, 0.22727274894714355, 0.04545453190803528, 0.0],
                [0.0, 0.04545452818274498, 0.22727271914482117, 0.40909087657928467, 0.3181818127632141]]),
        (7, 3, [[0.3571428656578064, 0.4285714030265808, 0.2142857015132904, 0.0, 0.0, 0.0, 0.0],
                [0.0, 0.05882352963089943, 0.23529411852359772, 0.4117647409439087, 0.23529411852359772, 0.05882352963089943, 0.0],
                [0.0, 0.0, 0.0, 5.960463766996327e-08, 0.21428576111793518, 0.4285714328289032, 0.35714277625083923]]),
        (3, 5, [[1.0, 0.0, 0.0], [0.5999999642372131, 0.40000003576278687, 0.0], [0.0, 1.0, 0.0],
                [0.0, 0.39999985694885254, 0.6000001430511475], [0.0, 0.0, 1.0]]),
    ])
    func tapsEqualPyTorchs(inputSize: Int, outputSize: Int, expected: [[Double]]) {
        let taps = antialiasedBilinearTaps(inputSize: inputSize, outputSize: outputSize, outputRange: 0..<outputSize)
        for i in 0..<outputSize {
            var dense = [Float](repeating: 0, count: inputSize)
            for j in 0..<taps.counts[i] { dense[taps.starts[i] + j] = taps.weights[i * taps.maximumTaps + j] }
            #expect(dense == expected[i].map { Float($0) }, "output \(i)")
        }
    }
}
