import Testing
import Models
import Tensors
import TestSupport
@testable import Service

@Suite struct FeaturePostProcessingTests {
    // MARK: - Naive references

    private func referenceSpatial(_ x: Tensor, max: Bool) -> Tensor {
        let shape = x.shape, values = x.toArray()
        let positions = shape[2] * shape[3]
        var out: [Float] = []
        for row in 0..<(shape[0] * shape[1]) {
            let slice = values[(row * positions)..<((row + 1) * positions)]
            out.append(max ? slice.max()! : slice.reduce(0, +) / Float(positions))
        }
        return Tensor(shape: [shape[0], shape[1]], scalars: out)
    }

    @Test(arguments: [PoolingMode.mean, .max])
    func spatialPoolingMatchesReference(pool: PoolingMode) throws {
        let x = randomTensor([2, 5, 7, 3], seed: 11)
        let pooled = try FeaturePostProcessing(pool: pool).apply(x, layer: "layer4")
        #expect(pooled.shape == [2, 5])
        #expect(isClose(pooled, referenceSpatial(x, max: pool == .max), tolerance: 1e-6))
        // Tensors' own reductions agree.
        let expected = pool == .mean ? x.mean(axes: [2, 3]) : x.max(axes: [2, 3])
        #expect(isClose(pooled, expected, tolerance: 1e-6))
    }

    /// Token pooling with a mask agrees with Models' sentence-transformers pooling.
    @Test(arguments: [PoolingMode.mean, .max, .cls])
    func tokenPoolingMatchesSentencePooling(pool: PoolingMode) throws {
        let hidden = randomTensor([2, 4, 6], seed: 5)
        let mask = Tensor(shape: [2, 4], elements: [Int64(1), 1, 1, 0, 1, 1, 0, 0])
        let pooled = try FeaturePostProcessing(pool: pool).apply(hidden, layer: "last_hidden_state", attentionMask: mask)
        let sentencePooling: SentencePooling = switch pool {
        case .mean: .mean
        case .max: .max
        default: .cls
        }
        let expected = try sentencePooling.pool(hidden, attentionMask: mask)
        #expect(pooled.shape == [2, 6])
        #expect(isClose(pooled, expected, tolerance: 1e-6), "\(String(describing: difference(pooled, expected)))")
    }

    @Test func allPaddingRowsGiveZeros() throws {
        let hidden = randomTensor([1, 3, 2], seed: 2)
        let mask = Tensor(shape: [1, 3], elements: [Int64(0), 0, 0])
        for pool in [PoolingMode.mean, .max] {
            #expect(try FeaturePostProcessing(pool: pool).apply(hidden, layer: "h", attentionMask: mask).toArray() == [0, 0])
        }
    }

    @Test func flattenNormalizeAndFloat16() throws {
        let x = randomTensor([2, 3, 2, 2], seed: 9)
        let processed = try FeaturePostProcessing(flatten: true, normalize: true, dtype: .float16).apply(x, layer: "layer1")
        #expect(processed.shape == [2, 12] && processed.dtype == .float16)
        let expected = x.reshaped([2, 12]).l2Normalized(axis: 1).to(.float16)
        #expect(processed.toArray() == expected.toArray())
        // Rank 2 passes pooling unchanged; zero rows stay zero under normalize.
        let zeros = try FeaturePostProcessing(pool: .mean, normalize: true).apply(Tensor(zeros: [2, 3]), layer: "fc")
        #expect(zeros.shape == [2, 3] && zeros.toArray() == [0, 0, 0, 0, 0, 0])
    }

    @Test func shapesArePredictedAndClsNeedsTokens() throws {
        let processing = FeaturePostProcessing(pool: .mean, flatten: true)
        #expect(try processing.outputShape(for: [1, 2048, 7, 7], layer: "layer4") == [1, 2048])
        #expect(try processing.outputShape(for: [1, 128, 384], layer: "h") == [1, 384])
        #expect(try FeaturePostProcessing(flatten: true).outputShape(for: [1, 64, 56, 56], layer: "x") == [1, 200_704])
        #expect(throws: RequestError(field: "pool", "cls pooling needs [batch, tokens, hidden] features; layer 'layer4' has shape [1, 2048, 7, 7]")) {
            try FeaturePostProcessing(pool: .cls).outputShape(for: [1, 2048, 7, 7], layer: "layer4")
        }
        #expect(throws: RequestError.self) { try FeaturePostProcessing(pool: .max).apply(randomTensor([1, 2, 2, 2, 2], seed: 1), layer: "x") }
        #expect(FeaturePostProcessing().isIdentity && !FeaturePostProcessing(dtype: .float16).isIdentity)
    }

    @Test func kernelsAgainstNaiveLoops() {
        var generator = SeededGenerator(seed: 77)
        for width in [0, 1, 3, 4, 5, 17, 64] {
            let rows = 3
            let values = (0..<(rows * width)).map { _ in generator.nextNormal() }
            var means = [Float](repeating: .nan, count: rows), maxima = means
            values.withUnsafeBufferPointer { x in
                means.withUnsafeMutableBufferPointer { meanPoolRows($0.baseAddress!, x.baseAddress ?? UnsafePointer(bitPattern: 64)!, rows: rows, width: width) }
                maxima.withUnsafeMutableBufferPointer { maxPoolRows($0.baseAddress!, x.baseAddress ?? UnsafePointer(bitPattern: 64)!, rows: rows, width: width) }
            }
            for row in 0..<rows {
                let slice = values[(row * width)..<((row + 1) * width)]
                let mean = width == 0 ? 0 : slice.reduce(Float(0), +) / Float(width)
                #expect(abs(means[row] - mean) <= 1e-5 * Swift.max(1, abs(mean)))
                #expect(maxima[row] == (slice.max() ?? -.infinity))
            }
        }
    }
}
