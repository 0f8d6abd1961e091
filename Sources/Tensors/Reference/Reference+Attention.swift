import Foundation

extension Reference {
    /// softmax(q·kᵀ·scale + mask)·v over [batch…, S, D] × [batch…, T, D] × [batch…, T, Dv], with
    /// Double dot products.
    public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor,
                                                 additiveMask: Tensor? = nil, scale: Float? = nil) -> Tensor {
        let (S, D) = (query.shape[query.rank - 2], query.shape[query.rank - 1])
        let T = key.shape[key.rank - 2], Dv = value.shape[value.rank - 1]
        let batch = Array(query.shape.dropLast(2)), batchCount = batch.reduce(1, *)
        let scale = Double(scale ?? 1 / Float(D).squareRoot())
        let q = query.toArray(), k = key.toArray(), v = value.toArray()
        var scores = [Float](repeating: 0, count: batchCount * S * T)
        for b in 0..<batchCount {
            for i in 0..<S {
                for j in 0..<T {
                    var dot: Double = 0
                    for d in 0..<D { dot += Double(q[(b * S + i) * D + d]) * Double(k[(b * T + j) * D + d]) }
                    scores[(b * S + i) * T + j] = Float(dot * scale)
                }
            }
        }
        let probabilities = softmax(Tensor(shape: batch + [S, T], scalars: scores), axis: -1, additiveMask: additiveMask).toArray()
        var out = [Float](repeating: 0, count: batchCount * S * Dv)
        for b in 0..<batchCount {
            for i in 0..<S {
                for d in 0..<Dv {
                    var total: Double = 0
                    for j in 0..<T { total += Double(probabilities[(b * S + i) * T + j]) * Double(v[(b * T + j) * Dv + d]) }
                    out[(b * S + i) * Dv + d] = Float(total)
                }
            }
        }
        return Tensor(shape: batch + [S, Dv], scalars: out)
    }
}
