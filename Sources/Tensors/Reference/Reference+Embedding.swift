extension Reference {
    /// Rows of `weight` [V, D] picked by `indices` → [indices…, D].
    public static func embedding(_ indices: Tensor, weight: Tensor) -> Tensor {
        let dimension = weight.shape[1]
        let table = weight.toArray()
        var out: [Float] = []
        for id in indices.toInt64Array() { out += table[(Int(id) * dimension)..<((Int(id) + 1) * dimension)] }
        return Tensor(shape: indices.shape + [dimension], scalars: out)
    }
}
