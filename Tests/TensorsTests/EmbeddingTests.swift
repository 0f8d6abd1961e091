import Testing
import Tensors
import TestSupport

@Suite struct EmbeddingTests {
    @Test(arguments: [([1], 1), ([7], 13), ([2, 5], 384), ([4, 128], 96), ([8, 256], 64)])
    func gatherMatchesReference(_ c: ([Int], Int)) {
        let weight = random([50, c.1], seed: 141)
        var generator = SeededGenerator(seed: 142)
        let ids = Tensor(shape: c.0, elements: (0..<c.0.reduce(1, *)).map { _ in Int64(generator.next() % 50) })
        #expect(identical(Tensor.embedding(ids, weight: weight), Reference.embedding(ids, weight: weight)))
        #expect(identical(Tensor.embedding(ids.to(.int32), weight: weight), Reference.embedding(ids, weight: weight)))
    }

    @Test func gradientAccumulatesRepeatedRows() {
        let weight = leaf(random([4, 3], seed: 143))
        let ids = Tensor(shape: [3], elements: [Int64(2), 0, 2])
        let g = gradients(of: Tensor.embedding(ids, weight: weight), seed: Tensor(shape: [3, 3], repeating: 1), withRespectTo: [weight])
        #expect(g[0]?.toArray() == [1, 1, 1, 0, 0, 0, 2, 2, 2, 0, 0, 0])
    }
}
